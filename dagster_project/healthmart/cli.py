"""Command line: `healthmart run` (the daily job, headless), `summary`, `report`, `parse`.

`healthmart run` is what `make run` calls: sample exports when the landing folder has none,
the dbt manifest, one ingest run, one build run over the scoring dates that need it (the
range in the run's tags; see `plan_scoring_range`), publication of the serving file, a printed
summary and the HTML health report.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from healthmart.contract import SOURCES
from healthmart.dbt_project import dbt_executable
from healthmart.ingest import IngestConfigError, list_export_files, load_ingest_config
from healthmart.runlock import RunLockBusy, lock_timeout, run_lock
from healthmart.settings import DBT_PROJECT_DIR, ENV_INGEST_CONFIG, PROJECT_ROOT, Settings

# The terminal shows the run's progress and problems; every event stays in the Dagster
# instance (DAGSTER_HOME), where `make ui` shows it.
CONSOLE_LOG_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def has_exports(exports_dir: Path) -> bool:
    """Whether the landing folder holds at least one export file of a known source."""
    return any(list_export_files(exports_dir, source) for source in SOURCES)


def parse_dbt(settings: Settings) -> Path:
    """Build the dbt manifest (`dbt parse`) that the Dagster definitions load."""
    env = {**os.environ, **settings.dbt_env()}
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
    return DBT_PROJECT_DIR / "target" / "manifest.json"


def ensure_dagster_home() -> Path:
    """Use DAGSTER_HOME when set, else the project's .dagster_home (runs show in `dagster dev`)."""
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def loaded_date_span(settings: Settings) -> tuple[date, date] | None:
    """First and last date of the rows loaded in the raw tables (read-only)."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return data_date_span(con)
    finally:
        con.close()


def data_date_span(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    existing = _tables(con, "raw")
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


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }


# --------------------------------------------------------------------------------------------
# The run range: which scoring dates a run builds
# --------------------------------------------------------------------------------------------

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
    meta = _tables(con, "ingest_meta")
    ingested_through = (
        con.execute("select max(finished_at) from ingest_meta.load_log").fetchone()[0]
        if "load_log" in meta
        else None
    )

    def full(*reasons: str) -> ScoringRange:
        return ScoringRange(first, last, reasons, True, span, ingested_through, first)

    if restate:
        return full("--restate: rescoring all history")
    if "fct_health_scores" not in _tables(con, "marts"):
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


def _per_date_tables(manifest_path: Path) -> list[str]:
    """The incremental models (schema.table), dropped before a full rebuild: the per-scoring-
    date ones and the whole-history tables updated from the first changed date."""
    manifest = json.loads(manifest_path.read_text())
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


def _record_scoring_run(
    settings: Settings, plan: ScoringRange, run_id: str, status: str, config_hash: str
) -> None:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("create schema if not exists ingest_meta")
        con.execute(SCORING_RUNS_DDL)
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
                settings.preset,
                config_hash,
            ],
        )
    finally:
        con.close()


def run(
    settings: Settings,
    accounts: int,
    months: int,
    seed: int,
    restate: bool = False,
    score_from: date | str | None = None,
) -> int:
    """The whole run under the run lock of the warehouse: one run at a time.

    restate: rescore all history (e.g. after a config change) instead of the dates that need it.
    score_from: score no date before it ('latest': the last date the data supports only).
    """
    try:
        with run_lock(settings.warehouse_path, lock_timeout()):
            return _run_locked(settings, accounts, months, seed, restate, score_from)
    except RunLockBusy as busy:
        print(busy, file=sys.stderr)
        return 1


def _run_locked(
    settings: Settings,
    accounts: int,
    months: int,
    seed: int,
    restate: bool,
    score_from: date | str | None,
) -> int:
    started = time.monotonic()
    try:
        ingest_config = load_ingest_config(*settings.ingest_config_location())
    except IngestConfigError as exc:
        print(f"The ingest config is invalid: {exc}", file=sys.stderr)
        return 1
    if not has_exports(settings.exports_dir):
        from healthmart.generate import generate_exports

        print(
            f"No exports in {settings.exports_dir}: generating sample exports "
            f"({accounts} accounts, {months} months, seed {seed}).",
            flush=True,
        )
        counts = generate_exports(settings.exports_dir, accounts=accounts, months=months, seed=seed)
        print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)

    print("Parsing the dbt project ...", flush=True)
    manifest_path = parse_dbt(settings)
    ensure_dagster_home()

    import dagster as dg

    from healthmart.definitions import defs
    from healthmart.run_range import range_tags, today

    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def("daily_health_job")
    ingest_keys = [dg.AssetKey(["raw", source]) for source in SOURCES]
    build_keys = [
        key for key in defs.resolve_asset_graph().get_all_asset_keys() if key not in ingest_keys
    ]
    env = settings.dbt_env() | {
        "HEALTHMART_EXPORTS_DIR": str(settings.exports_dir),
        "HEALTHMART_SERVING_PATH": str(settings.serving_path),
    }
    if settings.ingest_config is not None:
        env[ENV_INGEST_CONFIG] = str(settings.ingest_config)
    os.environ.update(env)

    config_note = f" (ingest config {ingest_config.path})" if ingest_config.path else ""
    print(
        f"Ingesting {settings.exports_dir} into {settings.warehouse_path}{config_note} ...",
        flush=True,
    )
    ingest = job.execute_in_process(
        instance=instance,
        asset_selection=ingest_keys,
        run_config=CONSOLE_LOG_CONFIG,
        raise_on_error=False,
    )
    if not ingest.success:
        print("The ingest run failed; see the Dagster run log.", file=sys.stderr)
        return 1

    config_hash = scoring_hash()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        _print_ingest_problems(con, ingest.run_id)
        plan = plan_scoring_range(
            con,
            restate=restate,
            preset=settings.preset,
            config_hash=config_hash,
            latest=today(),
            serving_exists=settings.serving_path.exists(),
        ).starting_from(score_from)
    finally:
        con.close()
    if plan.data_span is None:
        print("No rows were loaded from the exports: nothing to score.", file=sys.stderr)
        return 1
    print(plan.describe(), flush=True)

    if plan.start is not None:
        if plan.full:
            # From scratch: no scored date outside the new range may linger.
            con = duckdb.connect(str(settings.warehouse_path))
            try:
                for table in _per_date_tables(manifest_path):
                    con.execute(f"drop table if exists {table}")
            finally:
                con.close()
        run_id = str(uuid.uuid4())
        with _quick_event_log(instance, run_id):
            build = job.execute_in_process(
                instance=instance,
                asset_selection=build_keys,
                run_id=run_id,
                tags=range_tags(plan.start, plan.end),
                run_config=CONSOLE_LOG_CONFIG,
                raise_on_error=False,
            )
        _record_scoring_run(
            settings, plan, run_id, "succeeded" if build.success else "failed", config_hash
        )
        if not build.success:
            print(
                "The build run failed (a model or a blocking check); the last published serving "
                "file is unchanged. See the Dagster run log.",
                file=sys.stderr,
            )
            return 1
        print(_scored_dates(settings, plan), flush=True)

    from healthmart.summary import render_summary

    print(render_summary(settings.serving_path))
    from healthmart.report import report_path, write_report

    print(f"Health report: {write_report(settings.serving_path, report_path())}")
    print(f"Done in {time.monotonic() - started:.0f} s.")
    return 0


def _scored_dates(settings: Settings, plan: ScoringRange) -> str:
    """What the build wrote: the scoring dates of the range that the data supports."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        lo, hi, days = con.execute(
            "select min(score_date), max(score_date), count(distinct score_date) "
            "from marts.fct_health_scores where score_date between ? and ?",
            [plan.start, plan.end],
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


def _print_ingest_problems(con: duckdb.DuckDBPyConnection, load_id: str) -> None:
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
    if errors:
        print(
            f"{len(errors)} file{'s' if len(errors) != 1 else ''} could not be loaded "
            "(the other files were; see ingest_meta.load_log):",
            file=sys.stderr,
        )
        for (error,) in errors:
            print(f"  {error}", file=sys.stderr)
    if quarantined:
        print(
            f"{quarantined} row{'s' if quarantined != 1 else ''} quarantined "
            "(see ingest_meta.quarantine).",
            flush=True,
        )


@contextlib.contextmanager
def _quick_event_log(instance: Any, run_id: str) -> Iterator[None]:
    """Make a run's event log cheaper on the default sqlite Dagster instance.

    Dagster's sqlite event log opens and closes a connection for each event it stores (a
    build logs one per asset and per asset check: several hundred). When the last connection
    to a WAL database closes, sqlite checkpoints it and deletes the WAL: an idle connection to
    the index and to the run's event log, held while the run lasts, spares each event that.
    Closing them checkpoints once.
    """
    from dagster._core.storage.event_log import SqliteEventLogStorage

    with contextlib.ExitStack() as held:
        storage = instance.event_log_storage
        if isinstance(storage, SqliteEventLogStorage):
            held_paths: set[str] = set()

            def hold_open(path: str) -> None:
                if path in held_paths or not os.path.exists(path):
                    return
                held_paths.add(path)
                try:
                    connection = held.enter_context(contextlib.closing(sqlite3.connect(path)))
                    connection.execute("select count(*) from sqlite_master").fetchall()
                except sqlite3.Error:
                    pass  # only a speed-up: Dagster writes the same without it

            hold_open(storage.path_for_shard("index"))
            # The run's event log exists once the run's first event is stored.
            instance.add_event_listener(run_id, lambda _: hold_open(storage.path_for_shard(run_id)))
        yield


def score_from_arg(text: str) -> date | str:
    if text == "latest":
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date (YYYY-MM-DD) or 'latest', got {text!r}"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthmart", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run the daily job headless and print a summary")
    run_p.add_argument(
        "--exports-dir", help="landing folder (default: HEALTHMART_EXPORTS_DIR or data/exports)"
    )
    run_p.add_argument(
        "--serving-path",
        help="serving file (default: HEALTHMART_SERVING_PATH or data/healthmart.duckdb)",
    )
    run_p.add_argument("--preset", help="weighting preset: hbr, vital_signs or bigcommerce")
    run_p.add_argument(
        "--restate",
        action="store_true",
        help="rescore all history (e.g. after a config change), not only the dates that need it",
    )
    run_p.add_argument(
        "--score-from",
        type=score_from_arg,
        metavar="DATE|latest",
        help="score no date before DATE (ISO), or only the latest date the data supports: "
        "a first run on a long history without the backfill (default: every date needed)",
    )
    run_p.add_argument(
        "--ingest-config",
        help="ingest config file: column mapping, encoding, delimiter per source "
        "(default: HEALTHMART_INGEST_CONFIG, else config/ingest.yml if it exists)",
    )
    run_p.add_argument(
        "--sample-accounts", type=int, default=2000, help="accounts in generated sample exports"
    )
    run_p.add_argument(
        "--sample-months", type=int, default=18, help="months of generated sample exports"
    )
    run_p.add_argument(
        "--sample-seed", type=int, default=42, help="seed of generated sample exports"
    )
    sum_p = sub.add_parser("summary", help="print the summary of the published serving file")
    sum_p.add_argument("--serving-path")
    rep_p = sub.add_parser("report", help="write the HTML health report of the serving file")
    rep_p.add_argument("--serving-path")
    rep_p.add_argument(
        "--out", help="HTML file (default: HEALTHMART_REPORT_PATH or reports/health_report.html)"
    )
    sub.add_parser("parse", help="build the dbt manifest (dbt parse)")
    cal_p = sub.add_parser(
        "calibrate",
        help="fit signal weights to the churn history; write a proposed preset and a comparison",
    )
    cal_p.add_argument(
        "--warehouse-path",
        help="working warehouse, opened read-only (default: HEALTHMART_WAREHOUSE_PATH or "
        "data/warehouse.duckdb)",
    )
    cal_p.add_argument("--base-preset", default="hbr", help="preset whose dimensions to keep")
    cal_p.add_argument(
        "--horizon-days",
        type=int,
        help="churn horizon in days (default: churn_horizon_days of seeds/scoring_settings.csv)",
    )
    cal_p.add_argument(
        "--out", default="reports/calibration", help="output folder (default: reports/calibration)"
    )
    cal_p.add_argument(
        "--train-share", type=float, default=0.7, help="share of the span before the test period"
    )
    cal_p.add_argument("--seed", type=int, default=42, help="seed of the reference model")
    args = parser.parse_args(argv)

    if args.command == "run":
        settings = Settings.from_env(
            exports_dir=args.exports_dir,
            serving_path=args.serving_path,
            preset=args.preset,
            ingest_config=args.ingest_config,
        )
        return run(
            settings,
            args.sample_accounts,
            args.sample_months,
            args.sample_seed,
            args.restate,
            args.score_from,
        )
    if args.command == "summary":
        from healthmart.summary import render_summary

        print(render_summary(Settings.from_env(serving_path=args.serving_path).serving_path))
        return 0
    if args.command == "report":
        from healthmart.report import report_path, write_report

        serving_path = Settings.from_env(serving_path=args.serving_path).serving_path
        print(f"Health report: {write_report(serving_path, report_path(args.out))}")
        return 0
    if args.command == "parse":
        parse_dbt(Settings.from_env())
        return 0
    if args.command == "calibrate":
        from healthmart import calibrate

        settings = Settings.from_env(warehouse_path=args.warehouse_path)
        out = Path(args.out).expanduser()
        return calibrate.run(
            settings.warehouse_path,
            out if out.is_absolute() else PROJECT_ROOT / out,
            base_preset=args.base_preset,
            horizon_days=args.horizon_days,
            train_share=args.train_share,
            seed=args.seed,
            memory_limit=settings.duckdb_memory_limit,
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
