"""What `mhhs ingest` reports: one FileResult per landing file, and their summary."""

from collections import Counter
from dataclasses import asdict, dataclass, field

import pyarrow as pa

from pipelines.core.tables import draw


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
    """The summary for people: a table of the files, the totals, and a table of the rejections by reason code
    when there are any (drawn by DuckDB: pipelines.core.tables)."""
    data = summary.as_json()
    files = pa.table({
        "file": pa.array([f.source_file for f in summary.files], pa.string()),
        "status": pa.array([f.status for f in summary.files], pa.string()),
        "rows in": pa.array([f.rows_in for f in summary.files], pa.int64()),
        "accepted": pa.array([f.rows_accepted for f in summary.files], pa.int64()),
        "rejected": pa.array([f.rows_quarantined for f in summary.files], pa.int64()),
        "refused because": pa.array([f.reason_code or "" for f in summary.files], pa.string()),
    })
    lines = [draw(files, unit="file"),
             f"accepted {data['rows_accepted']} rows, rejected {data['rows_rejected']}"
             + (f"; refused {len(summary.refused)} whole files" if summary.refused else "")]
    if data["rejections"]:
        rejections = pa.table({"reason code": pa.array(list(data["rejections"]), pa.string()),
                               "rows rejected": pa.array(list(data["rejections"].values()), pa.int64())})
        lines.append(draw(rejections, unit="reason code"))
    return "\n".join(lines)
