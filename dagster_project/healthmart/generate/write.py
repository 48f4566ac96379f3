"""Writing export files: CSV (optionally gzip) and NDJSON, atomically."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_csv(table: pa.Table, path: Path) -> int:
    """Write a CSV (gzip-compressed, reproducibly, when the name ends in .gz); return rows."""
    buf = pa.BufferOutputStream()
    pacsv.write_csv(table, buf, write_options=pacsv.WriteOptions(quoting_style="needed"))
    data = buf.getvalue().to_pybytes()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    _atomic_write(path, data)
    return table.num_rows


def write_ndjson(table: pa.Table, path: Path) -> int:
    """One JSON object per line, keys in column order, null for missing values; return rows."""
    parts: list[pa.ChunkedArray | str] = []
    for i, field in enumerate(table.schema):
        col = table.column(i)
        if pa.types.is_string(field.type):
            escaped = col
            for char, escape in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r")):
                escaped = pc.replace_substring(escaped, char, escape)
            text = pc.binary_join_element_wise('"', escaped, '"', "")
        else:
            text = pc.cast(col, pa.string())
        parts += [
            ("{" if i == 0 else ",") + json.dumps(field.name) + ":",
            pc.fill_null(text, "null"),
        ]
    lines = pc.binary_join_element_wise(*parts, "}", "").to_pylist() if table.num_rows else []
    _atomic_write(path, "".join(f"{line}\n" for line in lines).encode("utf-8"))
    return table.num_rows
