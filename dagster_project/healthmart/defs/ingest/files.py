"""Export files on disk: which files a source has, their hash, compression and encoding."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import re
import zlib
from pathlib import Path

from healthmart.defs.ingest.results import SUFFIXES, FileError
from healthmart.defs.ingest.sql import first_line


def file_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".ndjson", ".jsonl", ".json", ".ndjson.gz", ".jsonl.gz", ".json.gz")):
        return "json"
    return None


def list_export_files(exports_dir: Path, source: str) -> list[Path]:
    """Export files of one source, sorted by relative path; hidden / `_`-prefixed names skipped."""
    root = Path(exports_dir) / source
    if not root.is_dir():
        return []
    out = []
    for path in root.rglob("*"):
        rel_parts = path.relative_to(root).parts
        if any(p.startswith((".", "_")) for p in rel_parts):
            continue
        if path.is_file() and path.name.lower().endswith(SUFFIXES):
            out.append(path)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _open_bytes(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_head(path: Path, n: int = 1 << 16) -> bytes:
    try:
        with _open_bytes(path) as f:
            return f.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        if path.name.lower().endswith(".gz"):
            raise FileError(f"cannot be decompressed as gzip: {first_line(exc)}") from exc
        raise FileError(f"cannot be read: {first_line(exc)}") from exc


def guess_delimiter(head: bytes) -> str:
    first = head.split(b"\n", 1)[0]
    counts = {d: first.count(d.encode()) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def has_c1_bytes(path: Path) -> bool:
    """True if the (decompressed) file has bytes 0x80-0x9F: cp1252 rather than latin-1."""
    pattern = re.compile(rb"[\x80-\x9f]")
    with _open_bytes(path) as f:
        while chunk := f.read(1 << 20):
            if pattern.search(chunk):
                return True
    return False


def transcode_to_utf8(path: Path, encoding: str, tmpdir: str) -> Path:
    """Streamed re-encoding of a CSV to a UTF-8 temp file (for encodings DuckDB can't read)."""
    target = Path(tmpdir) / "transcoded.csv"
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with _open_bytes(path) as src, open(target, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 20):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return target


def normalise_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise ValueError(f"unknown text encoding {encoding!r}") from exc
    return {"iso8859-1": "latin-1"}.get(name, name)
