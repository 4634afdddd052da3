"""Ingestion's reason codes that are not a single catalogue item's rule, with their texts, and the refusal of a
whole file. Every code and its words are defined in the data catalogue: these from its reason_codes (stage
ingestion), the rules' own codes from its items (pipelines.catalogue.sql_rules); docs/reason_codes.md lists them all.
"""

from pipelines import catalogue
from pipelines.catalogue.sql_rules import rules_for

# A landing line is about 100 bytes; anything near this is not settlement data and would only cost memory.
MAX_LINE_BYTES = 1024 * 1024

# Whole files refused ({formats}, {columns}, {kind}: filled in when refused).
FILE_REASONS = catalogue.reasons("ingestion", "files")
# Files refused before their content is read, for the safety of the data directory (tested in
# tests/test_reliability.py: a committed corpus cannot hold symlinks out of the tree or 1 MiB lines).
UNSAFE_FILE_REASONS = catalogue.reasons("ingestion", "unsafe_files", max_line_bytes=MAX_LINE_BYTES)
# Rows of any landing file, refused for something other than one item's rule.
ROW_REASONS = catalogue.reasons("ingestion", "rows")


def reason_texts(dataset: catalogue.Dataset) -> dict[str, str]:
    """Every reason a row of the dataset can be quarantined for, with its text: its items' rules, then ours."""
    texts = {rule.reason_code: rule.reason for item in dataset.columns for rule in rules_for(item)}
    return texts | ROW_REASONS


class FileRefused(Exception):
    """A whole landing file refused (kept under refused_files/ with its reason), raised by whichever step finds
    it cannot be read."""

    def __init__(self, reason_code: str, reason: str):
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason

    @classmethod
    def because(cls, reason_code: str, **values: str) -> "FileRefused":
        """The refusal with its code's text (FILE_REASONS or UNSAFE_FILE_REASONS), its blanks filled by `values`."""
        return cls(reason_code, (FILE_REASONS | UNSAFE_FILE_REASONS)[reason_code].format(**values))
