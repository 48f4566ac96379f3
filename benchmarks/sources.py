"""The export files of each source, as the two benchmark references read them.

Both references read the landing folder themselves (not the warehouse): the same files the
ingest would load (hidden and `_`-prefixed names skipped), with the file's path inside the
source folder and its modification time, which break ties between two versions of a key
(the newest file wins) as in staging.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from healthmart.core.contract import SOURCES
from healthmart.defs.ingest.files import list_export_files


@dataclass(frozen=True)
class ExportFile:
    path: Path
    rel: str  # path within the source folder: what staging orders files by (after mtime)
    mtime: datetime  # naive UTC, as the ingest records it
    kind: str  # csv, parquet or json


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    return "json"


def export_files(exports_dir: Path, source: str) -> list[ExportFile]:
    """The export files of one source, sorted by their path within the source folder."""
    root = Path(exports_dir) / source
    out = []
    for path in list_export_files(Path(exports_dir), source):
        stat = path.stat()
        out.append(
            ExportFile(
                path=path.resolve(),
                rel=path.relative_to(root).as_posix(),
                mtime=datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None),
                kind=file_kind(path),
            )
        )
    return out


def contract_columns(source: str) -> tuple[str, ...]:
    return SOURCES[source].column_names


def reference_sources() -> tuple[str, ...]:
    """The sources a current-day score reads (overrides change the effective score only)."""
    return ("accounts", "billing", "support", "survey", "usage", "csm", "outcomes")
