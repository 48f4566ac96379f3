"""Command line: `healthmart run` (the daily job, headless), `summary`, `report`, `parse`.

`healthmart run` is what `make run` calls: sample exports when the landing folder has none,
the dbt manifest, then one run of the Dagster job `daily_health_job` (the same job the
schedule, the sensor and the UI start): ingest, the run's plan (healthmart.defs.dbt.planning), the
dbt build over the scoring dates that need it, publication of the serving file, the run
record and the HTML health report. It prints the plan and a summary of the serving file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from healthmart.core.contract import SOURCES
from healthmart.core.run_range import NOT_BEFORE_TAG, RESTATE_TAG
from healthmart.core.runlock import RunLockBusy, lock_timeout, run_lock
from healthmart.core.settings import ENV_INGEST_CONFIG, PROJECT_ROOT, Settings
from healthmart.defs.dbt.planning import recorded_plan
from healthmart.defs.dbt.project import parse_dbt
from healthmart.defs.ingest.config import IngestConfigError, load_ingest_config
from healthmart.defs.ingest.files import list_export_files

# The terminal shows the run's progress and problems; every event stays in the Dagster
# instance (DAGSTER_HOME), where `make ui` shows it.
CONSOLE_LOG_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def has_exports(exports_dir: Path) -> bool:
    """Whether the landing folder holds at least one export file of a known source."""
    return any(list_export_files(exports_dir, source) for source in SOURCES)


def ensure_dagster_home() -> Path:
    """Use DAGSTER_HOME when set, else the project's .dagster_home (runs show in `dagster dev`)."""
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run(
    settings: Settings,
    accounts: int,
    months: int,
    seed: int,
    restate: bool = False,
    score_from: date | str | None = None,
    sample: bool = False,
) -> int:
    """The whole run under the run lock of the warehouse: one run at a time.

    accounts, months, seed: the sample exports generated when `sample` is set and the landing
    folder holds no export (without `sample` an empty folder stops the run).
    restate: rescore all history (e.g. after a config change) instead of the dates that need it.
    score_from: score no date before it ('latest': the last date the data supports only).
    """
    try:
        with run_lock(settings.warehouse_path, lock_timeout()):
            return _run_locked(settings, accounts, months, seed, restate, score_from, sample)
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
    sample: bool,
) -> int:
    started = time.monotonic()
    try:
        ingest_config = load_ingest_config(*settings.ingest_config_location())
    except IngestConfigError as exc:
        print(f"The ingest config is invalid: {exc}", file=sys.stderr)
        return 1
    if not has_exports(settings.exports_dir):
        if not sample:
            print(
                f"No export files in {settings.exports_dir}: nothing to score. Put your exports "
                "there (one folder per source: accounts/, billing/, support/, survey/, usage/, "
                "csm/, outcomes/), or run `healthmart run --sample` (what `make run` does) to "
                "score generated sample exports.",
                file=sys.stderr,
            )
            return 1
        from healthmart.generate.exports import generate_exports

        print(
            f"No exports in {settings.exports_dir}: generating sample exports "
            f"({accounts} accounts, {months} months, seed {seed}).",
            flush=True,
        )
        counts = generate_exports(settings.exports_dir, accounts=accounts, months=months, seed=seed)
        print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)

    print("Parsing the dbt project ...", flush=True)
    parse_dbt(settings)
    ensure_dagster_home()

    import dagster as dg

    from healthmart.definitions import defs
    from healthmart.defs.dbt.assets import PLAN_KEY

    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def("daily_health_job")
    env = settings.dbt_env() | {
        "HEALTHMART_EXPORTS_DIR": str(settings.exports_dir),
        "HEALTHMART_SERVING_PATH": str(settings.serving_path),
    }
    if settings.ingest_config is not None:
        env[ENV_INGEST_CONFIG] = str(settings.ingest_config)
    os.environ.update(env)

    config_note = f" (ingest config {ingest_config.path})" if ingest_config.path else ""
    print(
        f"Ingesting {settings.exports_dir} into {settings.warehouse_path}{config_note}, "
        "then scoring the dates that need it ...",
        flush=True,
    )
    tags = {}
    if restate:
        tags[RESTATE_TAG] = "true"
    if score_from is not None:
        tags[NOT_BEFORE_TAG] = score_from if isinstance(score_from, str) else score_from.isoformat()
    run_id = str(uuid.uuid4())
    with _quick_event_log(instance, run_id):
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            tags=tags,
            run_config=CONSOLE_LOG_CONFIG,
            raise_on_error=False,
        )

    recorded = None
    if settings.warehouse_path.exists():
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            _print_ingest_problems(con, run_id)
            recorded = recorded_plan(con, run_id)
        finally:
            con.close()
    plan = {
        event.asset_key: event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }.get(PLAN_KEY)
    if plan is not None:
        print(plan["plan"].value, flush=True)
    if not result.success:
        failures = {e.step_key: e for e in result.get_step_failure_events()}
        ingest_failed = [key for key in failures if key.startswith("raw__")]
        plan_step = PLAN_KEY.to_python_identifier()
        if ingest_failed:
            print("The ingest failed; see the Dagster run log.", file=sys.stderr)
        elif plan_step in failures:
            error = failures[plan_step].event_specific_data.error
            print(error.message.strip() if error else "Planning the run failed.", file=sys.stderr)
        else:
            print(
                "The build failed (a model or a blocking check); the last published serving "
                "file is unchanged. See the Dagster run log.",
                file=sys.stderr,
            )
        return 1
    if recorded is not None and recorded.start is not None:
        print(_scored_dates(settings, recorded.start, recorded.end), flush=True)

    from healthmart.defs.report.summary import render_summary

    print(render_summary(settings.serving_path))
    from healthmart.defs.report.page import report_path, write_report

    report = report_path()
    if not report.exists():  # a run with nothing to rebuild writes no new report
        write_report(settings.serving_path, report)
    print(f"Health report: {report}")
    print(f"Done in {time.monotonic() - started:.0f} s.")
    return 0


def _scored_dates(settings: Settings, first: date, last: date) -> str:
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
        "--sample",
        action="store_true",
        help="when the landing folder holds no export, generate sample exports there first "
        "(what `make run` does); without it an empty folder stops the run",
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
            sample=args.sample,
        )
    if args.command == "summary":
        from healthmart.defs.report.summary import render_summary

        print(render_summary(Settings.from_env(serving_path=args.serving_path).serving_path))
        return 0
    if args.command == "report":
        from healthmart.defs.report.page import report_path, write_report

        serving_path = Settings.from_env(serving_path=args.serving_path).serving_path
        print(f"Health report: {write_report(serving_path, report_path(args.out))}")
        return 0
    if args.command == "parse":
        parse_dbt(Settings.from_env())
        return 0
    if args.command == "calibrate":
        from healthmart.calibrate.report import run as run_calibration

        settings = Settings.from_env(warehouse_path=args.warehouse_path)
        out = Path(args.out).expanduser()
        return run_calibration(
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
