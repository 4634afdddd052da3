"""What `mhhs ingest` reports: one FileResult per landing file, and their summary."""

from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass
class FileResult:
    source_file: str
    dataset: str
    file_sha256: str
    status: str  # ingested | refused | already_ingested
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    reason_code: str | None = None
    reason: str | None = None
    rejections: dict[str, int] = field(default_factory=dict)


@dataclass
class IngestSummary:
    files: list[FileResult]

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]

    def as_json(self) -> dict:
        rejections: Counter = Counter()
        for result in self.files:
            rejections.update(result.rejections)
        return {
            "files": [asdict(f) for f in self.files],
            "rows_accepted": sum(f.rows_accepted for f in self.files),
            "rows_rejected": sum(f.rows_quarantined for f in self.files),
            "rejections": dict(sorted(rejections.items())),
        }


def render_summary(summary: IngestSummary) -> str:
    data = summary.as_json()
    lines = [f"{'file':<60} {'status':<17} {'rows in':>10} {'accepted':>10} {'rejected':>10}"]
    for f in summary.files:
        lines.append(f"{f.source_file:<60} {f.status:<17} {f.rows_in:>10} {f.rows_accepted:>10} {f.rows_quarantined:>10}")
    lines.append(f"accepted {data['rows_accepted']} rows, rejected {data['rows_rejected']}")
    for code, count in data["rejections"].items():
        lines.append(f"  {code:<40} {count:>10}")
    return "\n".join(lines)
