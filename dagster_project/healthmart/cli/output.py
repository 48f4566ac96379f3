"""What `healthmart run` prints besides the summary: the scored dates and the ingest's problems."""

from __future__ import annotations

import sys
from datetime import date

import duckdb

from healthmart.core.settings import Settings


def scored_dates(settings: Settings, first: date, last: date) -> str:
    """What the build wrote: the scoring dates of the range that the data supports."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        lo, hi, days = con.execute(
            "select min(score_date), max(score_date), count(distinct score_date) "
            "from marts.fct_health_scores where score_date between ? and ?",
            [first, last],
        ).fetchone()
        versions = con.execute(
            "select config_version, min(score_date), max(score_date) "
            "from marts.fct_health_scores group by config_version order by 2"
        ).fetchall()
    finally:
        con.close()
    if not days:
        return "Scored no date (the data supports none in the range)."
    text = f"Scored {days} date{'s' if days != 1 else ''}: {lo} .. {hi}."
    if len(versions) > 1:
        spans = ", ".join(f"{v} ({a} .. {b})" for v, a, b in versions)
        text += (
            f"\nThe history holds {len(versions)} scoring config versions: {spans}. Rows keep "
            "the config they were computed under (fct_health_drivers.restatement_change shows "
            "the effect); `healthmart run --restate` rescores all history under the current one."
        )
    return text


def print_ingest_problems(con: duckdb.DuckDBPyConnection, load_id: str) -> None:
    """One line per file of this ingest that could not be loaded, and the quarantine count."""
    errors = con.execute(
        "select error from ingest_meta.load_log where load_id = ? and status = 'error' "
        "order by source, file",
        [load_id],
    ).fetchall()
    quarantined = con.execute(
        "select coalesce(sum(rows_quarantined), 0) from ingest_meta.load_log "
        "where load_id = ? and status = 'loaded'",
        [load_id],
    ).fetchone()[0]
    by_rule = con.execute(
        "select rule, count(*) from ingest_meta.quarantine where load_id = ? "
        "group by rule order by count(*) desc, rule",
        [load_id],
    ).fetchall()
    if errors:
        print(
            f"{len(errors)} file{'s' if len(errors) != 1 else ''} could not be loaded "
            "(the other files were; see ingest_meta.load_log):",
            file=sys.stderr,
        )
        for (error,) in errors:
            print(f"  {error}", file=sys.stderr)
    if quarantined:
        rules = ", ".join(f"{rule} {count}" for rule, count in by_rule)
        print(
            f"{quarantined} row{'s' if quarantined != 1 else ''} quarantined "
            f"(see ingest_meta.quarantine): {rules}.",
            flush=True,
        )
