"""What the ingest reports per file and per source, and the errors it tells apart."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

import duckdb

LOADED = "loaded"
SKIPPED = "skipped_unchanged"
ERROR = "error"
REMOVED = "removed"

SUFFIXES = (
    ".csv.gz", ".csv", ".parquet", ".ndjson", ".jsonl", ".json", ".ndjson.gz", ".jsonl.gz",
    ".json.gz",
)  # fmt: skip

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),
    ("_file_hash", "VARCHAR"),
    ("_file_modified_at", "TIMESTAMP"),
    ("_loaded_at", "TIMESTAMP"),
    # What the row named its account by when matched (ingest config account_match): the
    # tool's id or the e-mail; account_id holds the account it matched.
    ("_source_account_ref", "VARCHAR"),
    # How many events of the file the row sums when a preset aggregates events to usage rows
    # at ingest (the file's part of the key: staging adds up the parts of several files);
    # null for a row of the export as it is.
    ("_source_events", "BIGINT"),
)

DUPLICATE_RULE = "duplicate_key_in_file"
MALFORMED_RULE = "malformed_row"
# Not a rule a row breaks: the row is not data by its format preset (an extra header row, a
# TOTAL line, a draft). Such rows are counted in the load log (rows_skipped), not loaded.
NOT_DATA_RULE = "__not_data"


@dataclass(frozen=True)
class FileResult:
    source: str
    file: str  # path relative to the exports folder, e.g. "billing/invoices_2026-01.csv"
    status: str  # 'loaded' | 'skipped_unchanged' | 'error' | 'removed'
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    error: str | None
    encoding: str | None = None  # text encoding used for a CSV file
    # Dates (of the source's time column) of the rows this call added or changed, and of the
    # rows it removed or replaced: what the scores of later days may have to be rebuilt for.
    added_range: tuple[date, date] | None = None
    removed_range: tuple[date, date] | None = None
    preset: str | None = None  # the format preset the file was read through
    rows_skipped: int = 0  # rows its preset says are not data (extra header rows, TOTAL lines)
    rows_written: int | None = None  # rows written to raw, when events aggregate to usage rows
    # The rows quarantined per rule, as JSON ({"unknown_account": 2}); None: none.
    quarantined_by_rule: str | None = None

    @property
    def changed_from(self) -> date | None:
        """The earliest date of a row this call added, changed or removed (None: no change)."""
        days = [r[0] for r in (self.added_range, self.removed_range) if r is not None]
        return min(days) if days else None


@dataclass(frozen=True)
class SourceResult:
    source: str
    files: tuple[FileResult, ...]

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def errors(self) -> list[str]:
        return [f.error for f in self.files if f.status == ERROR and f.error]


NOT_A_READ_ERROR = (
    duckdb.ParserException,
    duckdb.BinderException,
    duckdb.CatalogException,
    duckdb.InternalException,
)

READ_ERRORS = (duckdb.Error, OSError, UnicodeError, EOFError, zlib.error)


class FileError(Exception):
    """A file cannot be loaded; the message names the problem (the caller prefixes the file)."""


class Retry(Exception):
    """Internal: roll back and read the file again with what was learnt (encoding, bad lines)."""

    def __init__(self, encoding: str | None = None, rejects: list | None = None):
        super().__init__("retry")
        self.encoding = encoding
        self.rejects = rejects
