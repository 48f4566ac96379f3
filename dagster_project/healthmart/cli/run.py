"""`healthmart run`: the daily job, headless.

`healthmart run` is what `make run` calls: sample exports when the landing folder has none,
the dbt manifest, then one run of the Dagster job `daily_health_job` (the same job the
schedule, the sensor and the UI start): ingest, the run's plan (healthmart.defs.dbt.planning), the
dbt build over the scoring dates that need it, publication of the serving file, the run
record and the HTML health report. It prints the plan and a summary of the serving file.
"""

from __future__ import annotations

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

from healthmart.cli.output import print_ingest_problems, scored_dates
from healthmart.core.contract import SOURCES
from healthmart.core.run_range import NOT_BEFORE_TAG, RESTATE_TAG
from healthmart.core.runlock import RunLockBusy, lock_timeout, run_lock
from healthmart.core.settings import ENV_INGEST_CONFIG, ENV_PRESETS_DIR, PROJECT_ROOT, Settings
from healthmart.defs.dbt.planning import recorded_plan
from healthmart.defs.dbt.project import manifest_is_current, parse_dbt
from healthmart.defs.ingest.config import IngestConfigError, load_ingest_config
from healthmart.defs.ingest.files import list_export_files
from healthmart.defs.ingest.preset import PresetError, load_presets

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
    try:
        load_presets(settings.presets_dir)
    except PresetError as exc:
        print(f"A format preset is invalid: {exc}", file=sys.stderr)
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

    if not manifest_is_current(settings):
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
    env[ENV_PRESETS_DIR] = str(settings.presets_dir)
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
            print_ingest_problems(con, run_id)
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
        from healthmart.defs.quality.systemic import blocked_because

        blocked = [
            line
            for evaluation in result.get_asset_check_evaluations()
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
            for line in blocked_because(evaluation.metadata)
        ]
        if blocked:
            print(
                "Blocking checks failed; nothing was published (the last published serving "
                "file, if any, is unchanged):",
                file=sys.stderr,
            )
            for line in blocked:
                print(f"  {line}", file=sys.stderr)
        elif ingest_failed:
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
        print(scored_dates(settings, recorded.start, recorded.end), flush=True)

    from healthmart.defs.report.summary import render_summary

    print(render_summary(settings.serving_path))
    from healthmart.defs.report.page import report_path, write_report

    report = report_path()
    if not report.exists():  # a run with nothing to rebuild writes no new report
        write_report(settings.serving_path, report)
    print(f"Health report: {report}")
    print(f"Done in {time.monotonic() - started:.0f} s.")
    return 0


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
