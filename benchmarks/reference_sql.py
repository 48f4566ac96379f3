"""Reference (a): run the hand-written DuckDB script `reference.sql` on an exports folder.

The maths is all in the scripts (`reference_staging.sql`, shared with the full-history
reference, then `reference.sql`); this module only points them at the files: for each source a
relation over its CSV, Parquet and NDJSON files (every contract column, plus the file's path,
modification time and row number), then writes the scores of the latest date to a CSV.

    python -m benchmarks.reference_sql --exports-dir data/exports --out scores.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

from benchmarks.sources import (
    ExportFile,
    contract_columns,
    export_files,
    reference_sources,
)
from healthmart.core.settings import PROJECT_ROOT

STAGING = Path(__file__).with_name("reference_staging.sql")
SCRIPT = Path(__file__).with_name("reference.sql")
SEEDS_DIR = PROJECT_ROOT / "seeds"


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file_relation(con: duckdb.DuckDBPyConnection, f: ExportFile) -> str:
    """One file as a relation: its columns and `_row`, the row number within the file."""
    path = sql_literal(str(f.path))
    if f.kind == "csv":
        reader = f"read_csv({path}, all_varchar = true, header = true, compression = 'auto')"
        # rows keep the file order: a running number is the row number
        return f"(SELECT *, row_number() OVER () AS _row FROM {reader})"
    if f.kind == "parquet":
        return (
            f"(SELECT *, file_row_number AS _row FROM read_parquet({path}, file_row_number = true))"
        )
    keys = [
        row[0]
        for row in con.execute(
            f"DESCRIBE SELECT * FROM read_json({path}, format = 'newline_delimited')"
        ).fetchall()
    ]
    spec = ", ".join(f"{sql_literal(k)}: 'VARCHAR'" for k in keys)
    reader = f"read_json({path}, format = 'newline_delimited', columns = {{{spec}}})"
    return f"(SELECT *, row_number() OVER () AS _row FROM {reader})"


def source_relation(con: duckdb.DuckDBPyConnection, exports_dir: Path, source: str) -> str:
    """A relation over every file of a source: the contract columns (as the file has them:
    text or typed; missing ones null), _file (path within the source folder), _mtime (the
    file's modification time) and _row (row number within the file)."""
    columns = contract_columns(source)
    files = export_files(exports_dir, source)
    if not files:
        cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {_qi(c)}" for c in columns)
        return (
            f"(SELECT {cols}, CAST(NULL AS VARCHAR) AS _file, CAST(NULL AS TIMESTAMP) AS _mtime, "
            "CAST(NULL AS BIGINT) AS _row WHERE false)"
        )
    parts = []
    for f in files:
        relation = _file_relation(con, f)
        present = {
            row[0].strip().lower(): row[0]
            for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        }
        cols = [
            f"{_qi(present[c])} AS {_qi(c)}" if c in present else f"NULL AS {_qi(c)}"
            for c in columns
        ]
        parts.append(
            f"SELECT {', '.join(cols)}, {sql_literal(f.rel)} AS _file, "
            f"TIMESTAMP {sql_literal(f.mtime.isoformat(sep=' '))} AS _mtime, _row FROM {relation}"
        )
    return "(" + " UNION ALL ".join(parts) + ")"


def render_script(
    con: duckdb.DuckDBPyConnection, exports_dir: Path, preset: str, script_path: Path = SCRIPT
) -> str:
    """A reference script after the shared staging, its placeholders filled in."""
    script = STAGING.read_text() + "\n" + script_path.read_text()
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
        con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    try:
        return con.execute(render_script(con, Path(exports_dir), preset)).df()
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reference_sql")
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
