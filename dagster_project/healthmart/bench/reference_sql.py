"""Reference (a): run the hand-written DuckDB script `reference.sql` on an exports folder.

The maths is all in the script; this module only points it at the files: for each source a
relation over its CSV, Parquet and NDJSON files (every contract column, plus the file's path,
modification time and row number), then writes the scores of the latest date to a CSV.

    python -m healthmart.bench.reference_sql --exports-dir data/exports --out scores.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

from healthmart.bench.sources import (
    ExportFile,
    contract_columns,
    export_files,
    reference_sources,
)
from healthmart.settings import PROJECT_ROOT

SCRIPT = Path(__file__).with_name("reference.sql")
SEEDS_DIR = PROJECT_ROOT / "seeds"


def _ql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kind_relation(con: duckdb.DuckDBPyConnection, kind: str, files: list[ExportFile]) -> str:
    """One relation over the files of one format: all columns, `filename` and `_row`."""
    paths = "[" + ", ".join(_ql(str(f.path)) for f in files) + "]"
    if kind == "csv":
        reader = (
            f"read_csv({paths}, all_varchar = true, header = true, filename = true, "
            "union_by_name = true, compression = 'auto')"
        )
        # rows keep the file order: a running number orders the rows of one file
        return f"(SELECT *, row_number() OVER () AS _row FROM {reader})"
    if kind == "parquet":
        reader = (
            f"read_parquet({paths}, filename = true, file_row_number = true, union_by_name = true)"
        )
        return f"(SELECT *, file_row_number AS _row FROM {reader})"
    keys = [
        row[0]
        for row in con.execute(
            f"DESCRIBE SELECT * FROM read_json({paths}, format = 'newline_delimited', "
            "union_by_name = true)"
        ).fetchall()
    ]
    spec = ", ".join(f"{_ql(k)}: 'VARCHAR'" for k in keys)
    reader = (
        f"read_json({paths}, format = 'newline_delimited', filename = true, columns = {{{spec}}})"
    )
    return f"(SELECT *, row_number() OVER () AS _row FROM {reader})"


def source_relation(con: duckdb.DuckDBPyConnection, exports_dir: Path, source: str) -> str:
    """A relation over every file of a source: contract columns, _file, _mtime, _row."""
    columns = contract_columns(source)
    files = export_files(exports_dir, source)
    if not files:
        cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {_qi(c)}" for c in columns)
        return (
            f"(SELECT {cols}, CAST(NULL AS VARCHAR) AS _file, CAST(NULL AS TIMESTAMP) AS _mtime, "
            "CAST(NULL AS BIGINT) AS _row WHERE false)"
        )
    parts = []
    for kind in ("csv", "parquet", "json"):
        group = [f for f in files if f.kind == kind]
        if not group:
            continue
        relation = _kind_relation(con, kind, group)
        present = {
            row[0].strip().lower(): row[0]
            for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        }
        cols = [
            f"{_qi(present[c])} AS {_qi(c)}" if c in present else f"NULL AS {_qi(c)}"
            for c in columns
        ]
        parts.append(f"SELECT {', '.join(cols)}, filename AS _path, _row FROM {relation}")
    union = " UNION ALL BY NAME ".join(parts)
    values = ", ".join(
        f"({_ql(str(f.path))}, {_ql(f.rel)}, TIMESTAMP {_ql(f.mtime.isoformat(sep=' '))})"
        for f in files
    )
    return (
        f"(SELECT r.* EXCLUDE (_path), m._file, m._mtime FROM ({union}) AS r "
        f"JOIN (VALUES {values}) AS m(_path, _file, _mtime) ON r._path = m._path)"
    )


def render_script(con: duckdb.DuckDBPyConnection, exports_dir: Path, preset: str) -> str:
    script = SCRIPT.read_text()
    for source in reference_sources():
        script = script.replace(f"@{source}@", source_relation(con, exports_dir, source))
    return script.replace("@seeds@", str(SEEDS_DIR)).replace("@preset@", preset)


def current_scores(
    exports_dir: Path,
    preset: str = "hbr",
    memory_limit: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyRelation | object:
    """The scores of the latest scoring date as a pandas DataFrame (account_id, score_date,
    preset, computed_score, tier, coverage)."""
    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = {_ql(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    try:
        return con.execute(render_script(con, Path(exports_dir), preset)).df()
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m healthmart.bench.reference_sql")
    parser.add_argument("--exports-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="CSV of the scores")
    parser.add_argument("--preset", default="hbr")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit (default: DuckDB's)")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scores = current_scores(args.exports_dir, args.preset, args.memory_limit, args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scores.to_csv(args.out, index=False)
    print(
        f"SQL reference: {len(scores):,} accounts scored on {scores['score_date'].iloc[0]} "
        f"in {time.perf_counter() - started:.1f} s -> {args.out}"
        if len(scores)
        else "SQL reference: no customer to score"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
