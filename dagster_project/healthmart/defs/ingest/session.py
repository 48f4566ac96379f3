"""The DuckDB session settings the ingest relies on, restored afterwards."""

from __future__ import annotations

import contextlib
import re

import duckdb

from healthmart.defs.ingest.sql import ql

_UNITS = {
    "b": 1, "bytes": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}  # fmt: skip


def _parse_size(text: str) -> float | None:
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    if not m:
        return None
    unit = (m.group(2) or "b").lower()
    return float(m.group(1)) * _UNITS[unit] if unit in _UNITS else None


def _default_memory_limit() -> str:
    with duckdb.connect(":memory:") as fresh:
        return str(fresh.execute("SELECT current_setting('memory_limit')").fetchone()[0])


class SessionSettings:
    """Settings the ingest relies on, restored afterwards.

    TimeZone=UTC (timestamps without a zone are UTC), preserve_insertion_order=true (row
    numbers follow the file), no progress bar, and DuckDB's default memory_limit (80% of RAM)
    lowered to `memory_limit`, so the large aggregates (duplicate keys) spill to disk instead of
    growing.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, memory_limit: str | None):
        self.con = con
        self.saved: dict[str, str] = {}
        self.wanted = {
            "TimeZone": "UTC",
            "preserve_insertion_order": "true",
            "enable_progress_bar": "false",
        }
        if memory_limit:
            self.wanted["memory_limit"] = memory_limit

    def _get(self, name: str) -> str:
        return str(self.con.execute(f"SELECT current_setting('{name}')").fetchone()[0])

    def __enter__(self):
        for name, value in self.wanted.items():
            try:
                current = self._get(name)
                if name == "memory_limit":
                    # Only lower DuckDB's default limit (80% of RAM), and RESET it afterwards; a
                    # limit the caller set is theirs to keep. (The setting reads back rounded,
                    # so a SET of the read-back value would not restore it exactly.)
                    if current != _default_memory_limit():
                        continue
                    cur, new = _parse_size(current), _parse_size(value)
                    if cur is not None and new is not None and cur <= new:
                        continue
                    current = ""
                self.con.execute(f"SET {name} = {ql(value)}")
                self.saved[name] = current
            except duckdb.Error:
                pass
        return self

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            with contextlib.suppress(duckdb.Error):
                if value == "":
                    self.con.execute(f"RESET {name}")
                else:
                    self.con.execute(f"SET {name} = {ql(value)}")
        return False
