"""What a run scores, and the record of what it scored: the planning step of the daily job.

After the ingest, the run's `scoring/plan` asset chooses the scoring dates (plan_run): every
date the data supports on the first run, after a change of the dbt models or of the preset, or
with the restate tag; otherwise the new days and the days late, corrected or removed files
changed. It records the plan in `ingest_meta.scoring_runs` (status `running`), which the dbt
assets read, and the run's last asset marks it `succeeded`: the next run plans from the last
succeeded one. The same plan runs for `healthmart run`, the schedule, the sensor and the UI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import duckdb

from healthmart.core.contract import SOURCES
from healthmart.core.run_range import NOT_BEFORE_TAG, RESTATE_TAG, run_date_range
from healthmart.core.settings import DBT_PROJECT_DIR, PROJECT_ROOT


def data_date_span(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    existing = tables(con, "raw")
    parts = [
        f"select min(cast({src.time_column} as date)) as lo, "
        f"max(cast({src.time_column} as date)) as hi from raw.{src.name}"
        for src in SOURCES.values()
        if src.time_column and src.name in existing
    ]
    if not parts:
        return None
    lo, hi = con.execute(f"select min(lo), max(hi) from ({' union all '.join(parts)})").fetchone()
    return (lo, hi) if lo is not None else None


def tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }


SCORING_RUNS_DDL = """
create table if not exists ingest_meta.scoring_runs (
    run_id varchar, finished_at timestamp, status varchar,
    range_start date, range_end date, full_rebuild boolean, reason varchar,
    ingested_through timestamp, data_from date, data_to date,
    preset varchar, scoring_hash varchar
)"""


@dataclass(frozen=True)
class ScoringRange:
    """The scoring dates a run builds, and why. start None: nothing needs building."""

    start: date | None
    end: date | None
    reasons: tuple[str, ...]
    full: bool = False  # all history from scratch (the per-date marts are rebuilt whole)
    data_span: tuple[date, date] | None = None
    ingested_through: datetime | None = None
    first_supported: date | None = None  # the first date the data supports

    def describe(self) -> str:
        why = "; ".join(self.reasons)
        if self.start is None:
            return f"Nothing to rebuild: {why}."
        days = (self.end - self.start).days + 1
        what = f"{days} day{'s' if days != 1 else ''}"
        if self.full:
            what = "all history" if self.start == self.first_supported else f"{what}, from scratch"
        return f"Scoring dates {self.start} .. {self.end} ({what}): {why}"

    def starting_from(self, first: date | str | None) -> ScoringRange:
        """The range without the dates before `first` (a date, or 'latest': the last date
        only): a first run that scores only recent history (`healthmart run --score-from`)."""
        if first is None or self.start is None:
            return self
        cut = self.end if first == "latest" else first
        if cut <= self.start:
            return self
        note = f"dates before {cut} left out (--score-from {first})"
        if cut > self.end:
            return replace(self, start=None, end=None, reasons=(*self.reasons, note))
        return replace(self, start=cut, reasons=(*self.reasons, note))


def scoring_hash() -> str:
    """A hash of the code the scores are computed with: the dbt models, macros and project.

    The seeds (the scoring config) are left out on purpose: a config change applies to the
    dates scored from then on, every row carries the config_version it was computed under, and
    `--restate` rescores the history. A change of the SQL rebuilds all history (new or
    changed columns and fixes apply everywhere).
    """
    h = hashlib.sha256()
    roots = [DBT_PROJECT_DIR / "models", DBT_PROJECT_DIR / "macros"]
    files = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for root in roots:
        files += sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    for path in files:
        if path.is_file():
            h.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def plan_scoring_range(
    con: duckdb.DuckDBPyConnection,
    *,
    restate: bool,
    preset: str,
    config_hash: str,
    latest: date,
    serving_exists: bool = True,
) -> ScoringRange:
    """Choose the scoring dates to build after an ingest (con: the warehouse, read-only).

    All dates the data supports on the first run (no marts.fct_health_scores yet), with
    --restate, after a change of preset or of the dbt models (not of the seeds: the config
    version on every row keeps the meaning of past scores), or when data was removed
    from the ends of the span (older scored dates would linger). Otherwise from the earliest
    date a file loaded or removed since the last successful build changed (a row dated d
    changes the scores from d + 1 on; sources without a time column do not widen the range),
    and every date not scored yet, through the last date the data supports (the day after the
    last activity). latest: the last date a run may score (today).
    """
    span = data_date_span(con)
    if span is None:
        return ScoringRange(None, None, ("no rows loaded from the exports",))
    first = span[0]
    last = min(span[1] + timedelta(days=1), latest)
    meta = tables(con, "ingest_meta")
    ingested_through = (
        con.execute("select max(finished_at) from ingest_meta.load_log").fetchone()[0]
        if "load_log" in meta
        else None
    )

    def full(*reasons: str) -> ScoringRange:
        return ScoringRange(first, last, reasons, True, span, ingested_through, first)

    if restate:
        return full("--restate: rescoring all history")
    if "fct_health_scores" not in tables(con, "marts"):
        return full("first run")
    previous = None
    if "scoring_runs" in meta:
        previous = con.execute(
            "select ingested_through, data_from, data_to, preset, scoring_hash "
            "from ingest_meta.scoring_runs where status = 'succeeded' "
            "order by finished_at desc limit 1"
        ).fetchone()
    if previous is None:
        return full("no earlier build recorded")
    prev_ingested, prev_from, prev_to, prev_preset, prev_hash = previous
    reasons: list[str] = []
    if prev_preset != preset:
        reasons.append(f"preset changed from {prev_preset} to {preset}")
    if prev_hash != config_hash:
        reasons.append("the dbt models changed (dbt_models/)")
    if span[0] > prev_from:
        reasons.append(f"data removed: the earliest date went from {prev_from} to {span[0]}")
    if span[1] < prev_to:
        reasons.append(f"data removed: the latest date went from {prev_to} to {span[1]}")
    if reasons:
        return full(*reasons)

    starts: list[tuple[date, str]] = []
    last_scored = con.execute("select max(score_date) from marts.fct_health_scores").fetchone()[0]
    changes = con.execute(
        "select source, min(least(added_from, removed_from)) as changed_from, count(*) "
        "from ingest_meta.load_log where finished_at > ? and status in ('loaded', 'removed') "
        "group by source order by changed_from, source",
        [prev_ingested],
    ).fetchall()
    for source, changed_from, _ in changes:
        if changed_from is None:
            continue
        if last_scored is None or changed_from < last_scored:
            starts.append(
                (changed_from + timedelta(days=1), f"late data in {source} from {changed_from}")
            )
    new_from = last_scored + timedelta(days=1) if last_scored is not None else first
    if new_from <= last:
        label = "new day" if new_from == last else "new days"
        span_text = f"{new_from}" if new_from == last else f"{new_from} .. {last}"
        starts.append((new_from, f"{label} {span_text}"))
    if not starts and changes:
        # Only sources without a time column (accounts) changed: their marts are rebuilt
        # whole every run; the last scoring date is rebuilt with them.
        names = ", ".join(sorted({c[0] for c in changes}))
        starts.append((last, f"changed files in {names} (no time column: the latest day only)"))
    if not starts and not serving_exists:
        starts.append((last, "the serving file is missing"))
    if not starts:
        return ScoringRange(
            None,
            None,
            ("no file added, changed or removed since the last build and no new day to score",),
            False,
            span,
            ingested_through,
        )
    start = max(min(d for d, _ in starts), first)
    return ScoringRange(
        min(start, last), last, tuple(r for _, r in starts), False, span, ingested_through
    )


def tables_dropped_before_a_rebuild(manifest: Mapping) -> list[str]:
    """The incremental models (schema.table) dropped before a full rebuild: the per-scoring-
    date ones and the whole-history tables updated from the first changed date."""
    out = []
    for node in manifest.get("nodes", {}).values():
        config = node.get("config", {})
        if (
            node.get("resource_type") == "model"
            and config.get("materialized") == "incremental"
            and {"per_scoring_date", "incremental_history"} & set(node.get("tags", []))
        ):
            out.append(f'"{node["schema"]}"."{node.get("alias") or node["name"]}"')
    return sorted(out)


def not_before_value(text: str) -> date | str:
    """The value of the not-before tag: an ISO date, or 'latest' (the last date only)."""
    if text.strip().lower() == "latest":
        return "latest"
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"run tag {NOT_BEFORE_TAG}={text!r} is neither a date (YYYY-MM-DD) nor 'latest'"
        ) from None


def plan_run(
    con: duckdb.DuckDBPyConnection,
    tags: Mapping[str, str],
    *,
    preset: str,
    config_hash: str,
    latest: date,
    serving_exists: bool,
) -> ScoringRange:
    """The scoring dates of a run from its tags and the warehouse (read-only after the
    ingest). The range tags (healthmart/score_from, healthmart/score_to) rescore exactly those
    dates; otherwise plan_scoring_range decides, with healthmart/restate=true rescoring all
    history and healthmart/not_before (a date, or 'latest') leaving out the dates before it."""
    explicit = run_date_range(dict(tags))
    restate = str(tags.get(RESTATE_TAG, "")).strip().lower() in {"true", "1", "yes"}
    plan = plan_scoring_range(
        con,
        restate=restate,
        preset=preset,
        config_hash=config_hash,
        latest=latest,
        serving_exists=serving_exists,
    )
    if explicit is not None and plan.data_span is not None:
        return replace(
            plan,
            start=explicit[0],
            end=explicit[1],
            full=False,
            reasons=(f"dates {explicit[0]} .. {explicit[1]} chosen in the run tags",),
        )
    if tags.get(NOT_BEFORE_TAG):
        plan = plan.starting_from(not_before_value(tags[NOT_BEFORE_TAG]))
    return plan


def record_plan(
    con: duckdb.DuckDBPyConnection,
    plan: ScoringRange,
    run_id: str,
    *,
    preset: str,
    config_hash: str,
    planned: bool,
) -> None:
    """Record the run's plan (status `running`; `nothing to rebuild` when it builds no date:
    the dbt assets read that and build nothing). A run recorded as running when a new one
    plans was stopped before it finished (the run lock lets one run at a time): it is marked
    `interrupted`. planned: False when the range came from the run tags (status `rescored`
    when it finishes: the next run plans from the last planned run, not from it)."""
    con.execute("create schema if not exists ingest_meta")
    con.execute(SCORING_RUNS_DDL)
    con.execute(
        "update ingest_meta.scoring_runs set status = 'interrupted' "
        "where status in ('running', 'running from tags')"
    )
    if plan.start is None:
        status = "nothing to rebuild"
    else:
        status = "running" if planned else "running from tags"
    con.execute(
        "insert into ingest_meta.scoring_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            datetime.now(UTC).replace(tzinfo=None),
            status,
            plan.start,
            plan.end,
            plan.full,
            "; ".join(plan.reasons),
            plan.ingested_through,
            *(plan.data_span or (None, None)),
            preset,
            config_hash,
        ],
    )


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    """Mark the run's plan finished (`succeeded`, or `rescored` for a range from the tags);
    its status, None when the run recorded no plan."""
    if "scoring_runs" not in tables(con, "ingest_meta"):
        return None
    row = con.execute(
        "update ingest_meta.scoring_runs set finished_at = ?, "
        "status = case status when 'running' then 'succeeded' else 'rescored' end "
        "where run_id = ? and status in ('running', 'running from tags') returning status",
        [datetime.now(UTC).replace(tzinfo=None), run_id],
    ).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class RunPlan:
    """The range a run's plan recorded (None when nothing needs building)."""

    start: date | None
    end: date | None


def recorded_plan(con: duckdb.DuckDBPyConnection, run_id: str) -> RunPlan | None:
    """The plan recorded by the run (None: the run did not plan, e.g. a UI materialisation
    of a few dbt assets; they then take the range tags, or every date the data supports)."""
    if "scoring_runs" not in tables(con, "ingest_meta"):
        return None
    row = con.execute(
        "select range_start, range_end from ingest_meta.scoring_runs where run_id = ?",
        [run_id],
    ).fetchone()
    return RunPlan(*row) if row else None
