"""Late data, corrected files and re-runs: which scoring dates `healthmart run` builds.

Real runs of the job (`healthmart.cli.run`) on one warehouse, on the hand-made exports of
tests/test_end_to_end.py split in time:

A. first run: the exports without the usage of account C on 2026-02-15 (held back in a late
   file) and with ticket TB1 exported wrongly (priority low instead of urgent);
B. the late usage file arrives and the ticket export is corrected: the run rebuilds from
   2026-02-11 (TB1 opened 2026-02-10, a score sees the days before it) and the marts then
   equal those of the clean run of the complete exports (conftest `e2e_settings`);
C. the same late file dropped again under another name: the rows are the same, the rebuilt
   dates come out byte-identical;
D. nothing new: nothing is rebuilt and the published marts stay byte-identical.

The range choice itself (first run, --restate, preset change, data removed, accounts only)
is checked without dbt by `plan_scoring_range` on a warehouse loaded by the ingest.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_job_once
from test_end_to_end import SUPPORT, usage_rows, write_exports

from healthmart.cli.run import run
from healthmart.core.settings import PROJECT_ROOT, Settings
from healthmart.defs.dbt.assets import build_parts, supported_range
from healthmart.defs.dbt.planning import (
    SCORING_RUNS_DDL,
    ScoringRange,
    data_date_span,
    plan_scoring_range,
)
from healthmart.defs.ingest.load import ingest_all

LATE_DAY = "2026-02-15"
LATEST = date(2030, 1, 1)


def late_usage() -> list[dict]:
    return [r for r in usage_rows() if r["account_id"] == "C" and r["activity_date"] == LATE_DAY]


def on_time_usage() -> list[dict]:
    return [r for r in usage_rows() if r not in late_usage()]


WRONG_SUPPORT = SUPPORT.replace(",urgent,incident,", ",low,incident,")


def mart_fingerprints(serving: Path) -> dict[str, tuple[int, str]]:
    """Per table of marts: row count and an md5 of its rows as text, in sorted order."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        return {
            t: con.execute(
                f"select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) "
                f"from (select cast(x as varchar) as r from marts.{t} x)"
            ).fetchone()
            for t in tables
        }
    finally:
        con.close()


def mart_differences(left: Path, right: Path) -> dict[str, tuple[int, int]]:
    """Tables of marts whose rows differ, EXCEPT ALL both ways: {table: (left only, right only)}."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        names = {
            db: {
                t
                for (t,) in con.execute(
                    "select table_name from duckdb_tables() "
                    "where database_name = ? and schema_name = 'marts'",
                    [db],
                ).fetchall()
            }
            for db in ("l", "r")
        }
        assert names["l"] == names["r"]
        out = {}
        for t in sorted(names["l"]):
            only_left, only_right = (
                con.execute(
                    f"select count(*) from (select * from {a}.marts.{t} "
                    f"except all select * from {b}.marts.{t})"
                ).fetchone()[0]
                for a, b in (("l", "r"), ("r", "l"))
            )
            if only_left or only_right:
                out[t] = (only_left, only_right)
        return out
    finally:
        con.close()


@dataclass
class Step:
    returncode: int
    out: str
    serving_copy: Path
    scoring_runs: list[tuple]


@pytest.fixture(scope="module")
def late_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Step]:
    root = tmp_path_factory.mktemp("late")
    settings = Settings(
        exports_dir=root / "exports",
        serving_path=root / "serving.duckdb",
        warehouse_path=root / "warehouse.duckdb",
        preset="hbr",
    )
    exports = settings.exports_dir
    write_exports(exports)
    pq.write_table(pa.Table.from_pylist(on_time_usage()), exports / "usage" / "usage.parquet")
    (exports / "support" / "tickets.csv").write_text(WRONG_SUPPORT)

    def late_arrives() -> None:
        pq.write_table(pa.Table.from_pylist(late_usage()), exports / "usage" / "late.parquet")
        (exports / "support" / "tickets.csv").write_text(SUPPORT)

    def dropped_again() -> None:
        shutil.copy(exports / "usage" / "late.parquet", exports / "usage" / "late_again.parquet")

    steps: dict[str, Step] = {}
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    mp.setenv("HEALTHMART_REPORT_PATH", str(root / "health_report.html"))
    try:
        for name, change in (
            ("A", None),
            ("B", late_arrives),
            ("C", dropped_again),
            ("D", None),
        ):
            if change:
                change()
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                code = run(settings, accounts=0, months=0, seed=0)
            copy = root / f"serving_{name}.duckdb"
            shutil.copy(settings.serving_path, copy)
            con = duckdb.connect(str(settings.warehouse_path), read_only=True)
            runs = con.execute(
                "select status, range_start, range_end, full_rebuild, reason "
                "from ingest_meta.scoring_runs order by finished_at"
            ).fetchall()
            con.close()
            steps[name] = Step(code, buffer.getvalue(), copy, runs)
            if name == "A":
                # the state after the first run, for the daemon's run (test below)
                snapshot = root / "after_first_run"
                shutil.copytree(exports, snapshot / "exports")
                for path in (settings.warehouse_path, settings.serving_path):
                    shutil.copy(path, snapshot / path.name)
    finally:
        mp.undo()
    return steps


def test_first_run_builds_all_history(late_runs) -> None:
    a = late_runs["A"]
    assert a.returncode == 0
    assert "Scoring dates 2025-12-01 .. 2026-04-01 (all history): first run" in a.out
    # dbt narrows the range to what the data supports: first activity + 30 days of warm-up
    assert "Scored 92 dates: 2025-12-31 .. 2026-04-01." in a.out
    assert a.scoring_runs == [
        ("succeeded", date(2025, 12, 1), date(2026, 4, 1), True, "first run"),
    ]


def test_late_data_rebuilds_from_the_day_after_it(late_runs, e2e_settings) -> None:
    b = late_runs["B"]
    assert b.returncode == 0
    reason = "late data in support from 2026-02-10; late data in usage from 2026-02-15"
    assert f"Scoring dates 2026-02-11 .. 2026-04-01 (50 days): {reason}" in b.out
    assert "Scored 50 dates: 2026-02-11 .. 2026-04-01." in b.out
    assert b.scoring_runs[-1] == (
        "succeeded",
        date(2026, 2, 11),
        date(2026, 4, 1),
        False,
        reason,
    )
    # before: the first run's marts differed from the clean run's; after the late file and
    # the correction, every mart row equals the clean run of the complete exports
    before = mart_differences(late_runs["A"].serving_copy, e2e_settings.serving_path)
    assert {"fct_health_scores", "fct_signal_scores_wide"} <= set(before)
    assert mart_differences(b.serving_copy, e2e_settings.serving_path) == {}


def test_late_data_changed_only_the_days_after_it(late_runs) -> None:
    con = duckdb.connect()
    con.execute(f"attach '{late_runs['A'].serving_copy}' as a (read_only)")
    con.execute(f"attach '{late_runs['B'].serving_copy}' as b (read_only)")
    changed = con.execute(
        "select min(score_date), count(distinct score_date) from ("
        "select account_id, score_date, health_score, computed_score, tier "
        "from b.marts.fct_health_scores except all "
        "select account_id, score_date, health_score, computed_score, tier "
        "from a.marts.fct_health_scores)"
    ).fetchone()
    con.close()
    # B's urgent incident (opened 2026-02-10) counts from the 11th on
    assert changed[0] == date(2026, 2, 11)
    assert changed[1] > 1


def test_same_file_dropped_again_changes_nothing(late_runs) -> None:
    c = late_runs["C"]
    assert c.returncode == 0
    assert (
        "Scoring dates 2026-02-16 .. 2026-04-01 (45 days): late data in usage from 2026-02-15"
        in c.out
    )
    assert mart_fingerprints(c.serving_copy) == mart_fingerprints(late_runs["B"].serving_copy)


def test_rerun_without_new_data_is_byte_identical(late_runs) -> None:
    d = late_runs["D"]
    assert d.returncode == 0
    assert (
        "Nothing to rebuild: no file added, changed or removed since the last build and no "
        "new day to score." in d.out
    )
    # A, B, C built; D recorded that it had nothing to rebuild
    assert [run[0] for run in d.scoring_runs] == ["succeeded"] * 3 + ["nothing to rebuild"]
    fingerprints = mart_fingerprints(d.serving_copy)
    assert fingerprints == mart_fingerprints(late_runs["B"].serving_copy)
    assert fingerprints["fct_health_scores"][0] > 0
    con = duckdb.connect(str(d.serving_copy), read_only=True)
    duplicates = con.execute(
        "select count(*) from (select account_id, score_date from marts.fct_health_scores "
        "group by all having count(*) > 1)"
    ).fetchone()[0]
    con.close()
    assert duplicates == 0


# ------------------------------------------------------------------------------------------
# The range choice without dbt: a warehouse loaded by the ingest, a scored history by hand
# ------------------------------------------------------------------------------------------


@pytest.fixture
def warehouse(tmp_path: Path):
    exports = tmp_path / "exports"
    write_exports(exports)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ingest_all(con, exports)
    yield con, exports
    con.close()


def scored(con, through: str, preset: str = "hbr", config_hash: str = "h1") -> None:
    """As if a build had scored 2025-12-31 .. `through` and recorded its run."""
    con.execute("create schema if not exists marts")
    con.execute(
        "create or replace table marts.fct_health_scores as select cast(d as date) as score_date "
        f"from range(date '2025-12-31', date '{through}' + 1, interval 1 day) t(d)"
    )
    con.execute(SCORING_RUNS_DDL)
    lo, hi = data_date_span(con)
    con.execute(
        "insert into ingest_meta.scoring_runs values ('r1', now(), 'succeeded', "
        "date '2025-12-01', ?, true, 'first run', "
        "(select max(finished_at) from ingest_meta.load_log), ?, ?, ?, ?)",
        [through, lo, hi, preset, config_hash],
    )


def plan(con, restate: bool = False, preset: str = "hbr", config_hash: str = "h1"):
    return plan_scoring_range(
        con, restate=restate, preset=preset, config_hash=config_hash, latest=LATEST
    )


def test_plan_first_run_and_restate(warehouse) -> None:
    con, _ = warehouse
    assert plan(con) == ScoringRange(
        date(2025, 12, 1),
        date(2026, 4, 1),
        ("first run",),
        True,
        (date(2025, 12, 1), date(2026, 3, 31)),
        plan(con).ingested_through,
        date(2025, 12, 1),
    )
    assert plan(con).describe() == "Scoring dates 2025-12-01 .. 2026-04-01 (all history): first run"
    # --score-from: a first run on recent history only, or on the latest date only
    recent = plan(con).starting_from(date(2026, 3, 1))
    assert (recent.start, recent.end, recent.full) == (date(2026, 3, 1), date(2026, 4, 1), True)
    assert recent.describe() == (
        "Scoring dates 2026-03-01 .. 2026-04-01 (32 days, from scratch): first run; dates "
        "before 2026-03-01 left out (--score-from 2026-03-01)"
    )
    latest = plan(con).starting_from("latest")
    assert (latest.start, latest.end) == (date(2026, 4, 1), date(2026, 4, 1))
    assert plan(con).starting_from(date(2025, 1, 1)) == plan(con)  # before the data: no change
    assert plan(con).starting_from(date(2026, 5, 1)).start is None  # after it: nothing
    scored(con, "2026-04-01")
    assert plan(con).start is None
    assert plan(con).describe() == (
        "Nothing to rebuild: no file added, changed or removed since the last build and no "
        "new day to score."
    )
    restated = plan(con, restate=True)
    assert (restated.start, restated.end, restated.full) == (
        date(2025, 12, 1),
        date(2026, 4, 1),
        True,
    )
    assert restated.reasons == ("--restate: rescoring all history",)


@pytest.mark.parametrize(
    ("preset", "config_hash", "reason"),
    [
        ("vital_signs", "h1", "preset changed from hbr to vital_signs"),
        ("hbr", "h2", "the dbt models changed (dbt_models/)"),
    ],
)
def test_plan_config_change_rescores_all_history(warehouse, preset, config_hash, reason) -> None:
    con, _ = warehouse
    scored(con, "2026-04-01")
    p = plan(con, preset=preset, config_hash=config_hash)
    assert (p.start, p.end, p.full, p.reasons) == (
        date(2025, 12, 1),
        date(2026, 4, 1),
        True,
        (reason,),
    )


def test_plan_new_day_late_data_removed_data_and_accounts(warehouse) -> None:
    con, exports = warehouse
    scored(con, "2026-03-30")  # as if the last build saw data through 2026-03-29
    con.execute("update ingest_meta.scoring_runs set data_to = date '2026-03-29'")
    p = plan(con)
    assert (p.start, p.end, p.reasons, p.full) == (
        date(2026, 3, 31),
        date(2026, 4, 1),
        ("new days 2026-03-31 .. 2026-04-01",),
        False,
    )
    scored(con, "2026-04-01")

    # accounts have no time column: only the latest day (and the whole-history marts)
    accounts = exports / "accounts" / "accounts.csv"
    accounts.write_text(accounts.read_text().replace("Acme", "Acme Corp"))
    ingest_all(con, exports)
    p = plan(con)
    assert (p.start, p.end, p.reasons) == (
        date(2026, 4, 1),
        date(2026, 4, 1),
        ("changed files in accounts (no time column: the latest day only)",),
    )
    scored(con, "2026-04-01")

    # a late CSM assessment: from the day after it
    (exports / "csm" / "late.csv").write_text(
        "account_id,assessed_at,sentiment,renewal_intent\nC,2026-01-20 10:00:00,2,neutral\n"
    )
    ingest_all(con, exports)
    p = plan(con)
    assert (p.start, p.end, p.reasons, p.full) == (
        date(2026, 1, 21),
        date(2026, 4, 1),
        ("late data in csm from 2026-01-20",),
        False,
    )
    scored(con, "2026-04-01")

    # removing the file with the earliest rows shrinks the data: all history, from scratch
    (exports / "billing" / "invoices.csv.gz").unlink()
    ingest_all(con, exports)
    p = plan(con)
    assert p.full and p.reasons == (
        "data removed: the earliest date went from 2025-12-01 to 2026-01-05",
    )
    assert (p.start, p.end) == (date(2026, 1, 5), date(2026, 4, 1))


def test_a_history_built_in_parts_equals_one_build(tmp_path_factory, e2e_settings) -> None:
    """The whole history of the hand-made exports built in parts of 31 days (a budget of
    124 account-days for 4 accounts), each part reading the look-back dates an earlier part
    published: every mart equals the one-part build of the same exports."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HEALTHMART_BUILD_ACCOUNT_DAYS", "124")
    try:
        settings = run_job_once(tmp_path_factory.mktemp("parts"), write_exports)
    finally:
        mp.undo()
    supported, accounts = supported_range(settings)
    assert accounts == 4
    assert len(build_parts(None, supported, accounts, 124)) >= 3
    assert mart_differences(settings.serving_path, e2e_settings.serving_path) == {}


def test_the_sensor_under_the_daemon_picks_up_a_late_file(late_runs, tmp_path) -> None:
    """The schedule's and the sensor's runs plan their dates as `healthmart run` does: the real
    `dagster-daemon`, the sensor on, a late usage file (45 days back) and the corrected tickets
    dropped after the first run; the run it starts builds the marts of the CLI's run B."""
    root = late_runs["A"].serving_copy.parent
    shutil.copytree(root / "after_first_run", tmp_path, dirs_exist_ok=True)
    exports = tmp_path / "exports"
    pq.write_table(pa.Table.from_pylist(late_usage()), exports / "usage" / "late.parquet")
    (exports / "support" / "tickets.csv").write_text(SUPPORT)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "HEALTHMART_EXPORTS_DIR": str(exports),
        "HEALTHMART_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "HEALTHMART_SERVING_PATH": str(tmp_path / "serving.duckdb"),
        "HEALTHMART_REPORT_PATH": str(tmp_path / "health_report.html"),
        "HEALTHMART_PRESET": "hbr",
    }
    bin_dir = Path(sys.executable).parent
    workspace = ["-w", str(PROJECT_ROOT / "workspace.yaml")]
    subprocess.run(
        [bin_dir / "dagster", "sensor", "start", "new_exports_sensor", *workspace],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [bin_dir / "dagster-daemon", "run", *workspace],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            run = wait_for_finished_run(home, timeout=900)
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
    assert run is not None, f"no run finished; daemon log:\n{log.read_text()[-3000:]}"
    assert run.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    last = con.execute(
        "select status, range_start, range_end, reason from ingest_meta.scoring_runs "
        "order by finished_at desc limit 1"
    ).fetchone()
    con.close()
    reason = "late data in support from 2026-02-10; late data in usage from 2026-02-15"
    assert last == ("succeeded", date(2026, 2, 11), date(2026, 4, 1), reason)
    assert mart_differences(tmp_path / "serving.duckdb", late_runs["B"].serving_copy) == {}


def wait_for_finished_run(home: Path, timeout: float) -> dg.DagsterRun | None:
    """The first run of the instance at `home` once it has finished (None after timeout)."""
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            runs = instance.get_runs()
            if runs and runs[-1].is_finished:
                return runs[-1]
            time.sleep(2)
    return None
