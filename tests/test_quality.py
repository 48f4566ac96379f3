"""Data quality: the expectation suites, their chunked validation and the blocking checks.

Real Great Expectations validations on real DuckDB files: hand-made exports are ingested with
the real ingest, one fault at a time is added, and each suite must report it with the exact
number of unexpected rows. Ingest already quarantines rows that break a contract rule (a
missing required value, a bad type, a value outside its set or range), so what reaches raw
and what the suites add is what is across rows and files: keys duplicated between files,
accounts unknown to the accounts export, dates after the load, stale sources, volume drops.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import great_expectations as gx
import pytest

from healthmart.core.contract import SOURCES, names_accounts
from healthmart.core.settings import Settings
from healthmart.defs.ingest.load import ingest_all
from healthmart.defs.quality.results import (
    RESULTS_TABLE,
    pending_files,
    record,
    suite_scope,
    validate_and_record,
)
from healthmart.defs.quality.suites import (
    CRITICAL,
    DUPLICATES,
    EXPECTATIONS_DIR,
    PARAMETERS_FILE,
    ROWS,
    WARNING,
    Suite,
    export_suite,
    load_parameters,
    load_suites,
    parameters_for,
)
from healthmart.defs.quality.validate import validate_suite

SUITE_FILES = sorted(p for p in EXPECTATIONS_DIR.glob("*.json") if p.name != PARAMETERS_FILE)
LAST_DAY = date(2024, 5, 9)  # the newest date of the hand-made exports (the scoring date)
DAYS = 130  # long enough for every volume baseline (billing: 30 days against the 90 before)
CLEAN_SOURCES = ("accounts", "billing", "support", "survey", "usage", "csm", "outcomes")


# --------------------------------------------------------------------------------------------
# Hand-made exports: three accounts, one row a day per source (three for usage)
# --------------------------------------------------------------------------------------------


def _days() -> list[date]:
    return [LAST_DAY - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]


def write_clean_exports(exports: Path) -> None:
    for source in SOURCES:
        (exports / source).mkdir(parents=True, exist_ok=True)
    accounts = ["A", "B", "C"]
    (exports / "accounts" / "accounts.csv").write_text(
        "account_id,account_name,signup_date,licensed_seats,updated_at\n"
        + "".join(f"{a},{a} Ltd,2023-01-01,10,2024-01-01T00:00:00Z\n" for a in accounts)
    )
    billing = ["invoice_id,account_id,issued_date,due_date,amount,status,updated_at"]
    support = ["ticket_id,account_id,opened_at,priority,csat"]
    survey = ["response_id,account_id,responded_at,survey_type,score"]
    usage = ["account_id,activity_date,user_id,feature,event_count"]
    csm = ["account_id,assessed_at,sentiment,renewal_intent"]
    outcomes = ["account_id,event_date,event_type"]
    for n, day in enumerate(_days()):
        a = accounts[n % 3]
        billing.append(f"I{n},{a},{day},{day + timedelta(days=30)},100,paid,{day}T00:00:00Z")
        support.append(f"T{n},{a},{day}T10:00:00Z,normal,4")
        survey.append(f"S{n},{a},{day}T12:00:00Z,nps,9")
        usage += [f"{a},{day},u{u},reports,3" for u in range(3)]
        csm.append(f"{a},{day} 09:00:00,4,likely")
        outcomes.append(f"{a},{day},renewed")
    for source, lines in (
        ("billing", billing),
        ("support", support),
        ("survey", survey),
        ("usage", usage),
        ("csm", csm),
        ("outcomes", outcomes),
    ):
        (exports / source / f"{source}.csv").write_text("\n".join(lines) + "\n")


def ingest(exports: Path, warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for name, result in ingest_all(con, exports).items():
            assert not result.errors, (name, result.errors)
    finally:
        con.close()


def validate(warehouse: Path, suite_name: str, chunk_rows: int = 500_000):
    """Validate a suite on the files not validated yet, read-only, as the check does."""
    suite = next(s for s in load_suites() if s.name == suite_name)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        scope = suite_scope(con, suite, None)
        return validate_suite(
            con,
            suite,
            parameters_for(load_parameters(), suite.name),
            where=scope.where,
            scope=scope.label,
            chunk_rows=chunk_rows,
        )
    finally:
        con.close()


def failures(result) -> dict[tuple[str, str | None], int | None]:
    """(expectation, column) -> unexpected rows, for every expectation that failed."""
    return {
        (o.expectation_type, o.column): o.unexpected_count for o in result.outcomes if not o.success
    }


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Clean exports ingested once; each test copies the warehouse before adding its fault."""
    root = tmp_path_factory.mktemp("clean")
    write_clean_exports(root / "exports")
    ingest(root / "exports", root / "warehouse.duckdb")
    return root / "exports", root / "warehouse.duckdb"


@pytest.fixture
def faulty(clean: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    exports, warehouse = clean
    shutil.copytree(exports, tmp_path / "exports")
    shutil.copy(warehouse, tmp_path / "warehouse.duckdb")
    return tmp_path / "exports", tmp_path / "warehouse.duckdb"


# --------------------------------------------------------------------------------------------
# The suite files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SUITE_FILES, ids=[p.stem for p in SUITE_FILES])
def test_suite_file_is_a_valid_gx_suite(path: Path) -> None:
    data = json.loads(path.read_text())
    suite = gx.ExpectationSuite(**data)  # GX validates every expectation's type and kwargs
    assert suite.name == path.stem
    assert len(suite.expectations) == len(data["expectations"]) > 0
    meta = data["meta"]["healthmart"]
    frames = {ROWS, DUPLICATES, *meta["frames"]}
    parameters = parameters_for(load_parameters(), suite.name)
    for exp in data["expectations"]:
        assert exp["severity"] in (CRITICAL, WARNING), exp
        assert exp["meta"]["frame"] in frames, exp
        for value in exp["kwargs"].values():
            if isinstance(value, dict) and "$PARAMETER" in value:
                assert value["$PARAMETER"] in parameters or value["$PARAMETER"] == (
                    "latest_plausible_date"
                ), f"{path.name}: no value for {value} in {PARAMETERS_FILE}"


@pytest.mark.parametrize("source", list(SOURCES))
def test_export_suite_file_holds_what_the_contract_derives(source: str) -> None:
    """A contract change shows up in the suites (python -m healthmart.defs.quality.suites)."""
    path = EXPECTATIONS_DIR / f"raw_{source}.json"
    on_file = {
        json.dumps([e["type"], e["kwargs"], e["severity"]], sort_keys=True)
        for e in json.loads(path.read_text())["expectations"]
    }
    derived = export_suite(SOURCES[source])
    missing = [
        e
        for e in derived["expectations"]
        if json.dumps([e["type"], e["kwargs"], e["severity"]], sort_keys=True) not in on_file
    ]
    assert not missing, f"{path.name} lacks {missing}"


def test_row_faults_the_ingest_quarantines_warn_and_systemic_ones_block() -> None:
    """Unknown accounts and future dates are quarantined row by row at ingest: in a suite they
    only warn, like freshness, volume and keys across files. Whole files and sources block: a
    file's quarantine share, a shrunk file, a stale source."""
    for suite in load_suites():
        warnings = {
            e["kwargs"].get("column") or ",".join(e["kwargs"].get("column_list", []))
            for e in suite.expectations
            if e["severity"] == WARNING
        }
        blocking_frames = {
            e["kwargs"]["column"]
            for e in suite.expectations
            if e["severity"] == CRITICAL and e["meta"]["frame"] in ("files", "profile")
        }
        profile = "profile" in suite.meta["frames"]
        expected = {"lag_days", "volume_ratio"} if profile else set()
        if suite.name.startswith("raw_"):
            source = SOURCES[suite.name.removeprefix("raw_")]
            key = [*source.key, *([source.version_column] if source.version_column else [])]
            expected.add(",".join(key))
            expected |= set(source.past_date_columns)
            if names_accounts(source):
                expected.add("_account_known")
            assert blocking_frames == {"quarantined_share", "size_ratio"} | (
                {"lag_days"} if profile else set()
            ), suite.name
        assert warnings == expected, suite.name


def test_survey_suite_has_the_nps_and_csat_ranges() -> None:
    survey = json.loads((EXPECTATIONS_DIR / "raw_survey.json").read_text())
    ranges = {
        (
            e["kwargs"].get("row_condition", {}).get("parameter"),
            e["kwargs"]["min_value"],
            e["kwargs"]["max_value"],
        )
        for e in survey["expectations"]
        if e["type"] == "expect_column_values_to_be_between" and e["kwargs"]["column"] == "score"
    }
    assert ranges == {(None, 0, 10), ("nps", 0, 10), ("csat", 1, 5)}


def test_a_source_without_a_suite_file_gets_the_derived_suite(tmp_path: Path) -> None:
    from healthmart.defs.quality.checks import load_suite

    suite = load_suite(tmp_path, "raw_usage")
    assert suite.path is None
    assert suite.data == export_suite(SOURCES["usage"])
    with pytest.raises(FileNotFoundError):
        load_suite(tmp_path, "fct_health_scores")


# --------------------------------------------------------------------------------------------
# Export suites on hand-made exports
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", CLEAN_SOURCES)
def test_clean_exports_pass_every_export_suite(clean: tuple[Path, Path], source: str) -> None:
    result = validate(clean[1], f"raw_{source}")
    assert failures(result) == {}
    expected_rows = 3 if source == "accounts" else DAYS * (3 if source == "usage" else 1)
    assert result.rows_validated == expected_rows


def _append(exports: Path, source: str, name: str, lines: list[str]) -> None:
    header = (exports / source / f"{source}.csv").read_text().splitlines()[0]
    (exports / source / name).write_text("\n".join([header, *lines]) + "\n")


FAULTS = {
    # the same account with the same version in two files: which one is right?
    "accounts_duplicate_key": (
        "accounts",
        ["A,A again,2023-01-01,10,2024-01-01T00:00:00Z"],
        {("expect_compound_columns_to_be_unique", "account_id,updated_at"): 2},
    ),
    "billing_duplicate_invoice": (
        "billing",
        [f"I7,B,{LAST_DAY},{LAST_DAY},5,open,{_days()[7]}T00:00:00Z"],  # I7's updated_at
        {("expect_compound_columns_to_be_unique", "invoice_id,updated_at"): 2},
    ),
    "usage_duplicate_key": (
        "usage",
        [f"A,{_days()[0]},u1,reports,9"],  # day 0 is A's: the same key as in usage.csv
        {("expect_compound_columns_to_be_unique", "account_id,activity_date,user_id,feature"): 2},
    ),
}

# Row faults the ingest quarantines (rule -> rows): the suite sees only the good rows.
QUARANTINED = {
    "billing_orphan_account": (
        "billing",
        [f"X1,ZZ,{LAST_DAY},{LAST_DAY},5,open,{LAST_DAY}T00:00:00Z"],
        {"unknown_account": 1},
    ),
    "support_future_date": (
        "support",
        ["T-future,A,2099-01-01T10:00:00Z,high,2"],
        {"date_in_future": 1},
    ),
    "survey_orphan_account": (
        "survey",
        [f"S-x,QQ,{LAST_DAY}T08:00:00Z,csat,4", f"S-y,QQ,{_days()[50]}T09:00:00Z,nps,10"],
        {"unknown_account": 2},
    ),
    "csm_future_date": (
        "csm",
        ["B,2099-03-01 09:00:00,2,unlikely"],
        {"date_in_future": 1},
    ),
    "outcomes_orphan_account": (
        "outcomes",
        [f"NOPE,{LAST_DAY},churned", f"NOPE,{LAST_DAY},reactivated", f"A,{LAST_DAY},expanded"],
        {"unknown_account": 2},
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_export_suite_catches_its_fault(faulty: tuple[Path, Path], fault: str) -> None:
    exports, warehouse = faulty
    source, lines, expected = FAULTS[fault]
    _append(exports, source, "correction.csv", lines)
    ingest(exports, warehouse)
    # both files are new: the suite validates them together
    result = validate(warehouse, f"raw_{source}")
    assert failures(result) == expected
    # a key in two files is a warning (the contract resolves it)
    assert result.blocking_failures == []
    assert result.rows_validated == (
        3 if source == "accounts" else DAYS * (3 if source == "usage" else 1)
    ) + len(lines)


@pytest.mark.parametrize("fault", list(QUARANTINED))
def test_unknown_accounts_and_future_dates_are_quarantined_not_blocking(
    faulty: tuple[Path, Path], fault: str
) -> None:
    exports, warehouse = faulty
    source, lines, rules = QUARANTINED[fault]
    _append(exports, source, "correction.csv", lines)
    ingest(exports, warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    quarantined = dict(
        con.execute(
            "select rule, count(*) from ingest_meta.quarantine where file = ? group by rule",
            [f"{source}/correction.csv"],
        ).fetchall()
    )
    con.close()
    assert quarantined == rules
    result = validate(warehouse, f"raw_{source}")
    assert failures(result) == {}
    good = len(lines) - sum(rules.values())
    assert result.rows_validated == DAYS * (3 if source == "usage" else 1) + good


def _blocking_lines(result) -> list[str]:
    from healthmart.defs.quality.checks import failure_line

    return [failure_line(result.suite, o, result.parameters) for o in result.blocking_failures]


def test_a_file_mostly_quarantined_blocks_naming_it(faulty: tuple[Path, Path]) -> None:
    """One unknown account is a quarantined row; 12 of 40 (30 %) is a file that is wrong."""
    exports, warehouse = faulty
    lines = [
        f"P{n},{'ZZ' if n % 10 < 3 else 'A'},{LAST_DAY}T0{n % 10}:00:00Z,low,4" for n in range(40)
    ]
    _append(exports, "support", "partner.csv", lines)
    ingest(exports, warehouse)
    result = validate(warehouse, "raw_support")
    assert _blocking_lines(result) == [
        "raw_support: support/partner.csv: 30.0 % of its rows quarantined (12 of 40), above "
        "quarantine_max_share 5.0 %; see ingest_meta.quarantine"
    ]


def test_an_nps_of_11_reaching_raw_breaks_two_expectations(faulty: tuple[Path, Path]) -> None:
    """Ingest quarantines an NPS of 11 (contract range 0-10); a row that reached raw another way
    (an older loader, a hand fix) is still caught by the survey suite."""
    _, warehouse = faulty
    con = duckdb.connect(str(warehouse))
    con.execute(
        "insert into raw.survey (response_id, account_id, responded_at, survey_type, score, "
        "_source_file, _loaded_at) select 'S-11', 'A', timestamp '2024-05-09 13:00', 'nps', 11, "
        "'survey/survey.csv', max(_loaded_at) from raw.survey"
    )
    con.close()
    result = validate(warehouse, "raw_survey")
    failed = [o for o in result.outcomes if not o.success]
    # the contract's range 0-10 and the NPS range 0-10 (row condition survey_type == "nps")
    assert sorted((o.column, "row_condition" in o.kwargs, o.unexpected_count) for o in failed) == [
        ("score", False, 1),
        ("score", True, 1),
    ]
    for outcome in failed:
        assert outcome.blocking
        assert outcome.examples == ({"response_id": "S-11", "score": 11.0},)


def test_stale_source_warns_without_blocking(faulty: tuple[Path, Path]) -> None:
    exports, warehouse = faulty
    # survey stops 20 days before the other exports (its freshness allows 14)
    path = exports / "survey" / "survey.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[: len(lines) - 20]) + "\n")
    ingest(exports, warehouse)
    result = validate(warehouse, "raw_survey")
    (stale,) = [o for o in result.outcomes if not o.success]
    assert (stale.kwargs["column"], stale.severity, stale.unexpected_count) == (
        "lag_days",
        WARNING,
        1,
    )
    assert stale.examples[0]["lag_days"] == 20
    assert stale.examples[0]["latest_date"] == (LAST_DAY - timedelta(days=20)).isoformat()
    assert stale.examples[0]["scoring_date"] == LAST_DAY.isoformat()
    assert result.blocking_failures == []


def test_a_source_gone_stale_blocks(faulty: tuple[Path, Path]) -> None:
    exports, warehouse = faulty
    # usage stops 40 days before the other exports (stale_max_lag_days 30)
    path = exports / "usage" / "usage.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[: len(lines) - 3 * 40]) + "\n")
    ingest(exports, warehouse)
    latest = LAST_DAY - timedelta(days=40)
    assert _blocking_lines(validate(warehouse, "raw_usage")) == [
        f"raw_usage: stale: its newest row is of {latest}, 40 days before the scoring date "
        f"{LAST_DAY} (stale_max_lag_days 30)"
    ]


def test_a_file_that_shrank_blocks(faulty: tuple[Path, Path]) -> None:
    exports, warehouse = faulty
    # a new version of survey.csv with 50 of its 130 rows
    path = exports / "survey" / "survey.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:51]) + "\n")
    ingest(exports, warehouse)
    assert _blocking_lines(validate(warehouse, "raw_survey")) == [
        "raw_survey: survey/survey.csv shrank to 50 rows from 130 in its previous version "
        "(38.5 %, below file_min_size_ratio 50.0 %)"
    ]


def test_volume_drop_on_the_latest_day_warns(faulty: tuple[Path, Path]) -> None:
    exports, warehouse = faulty
    path = exports / "usage" / "usage.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")  # 1 row on the last day, 3 a day before
    ingest(exports, warehouse)
    result = validate(warehouse, "raw_usage")
    (drop,) = [o for o in result.outcomes if not o.success]
    assert (drop.kwargs["column"], drop.severity) == ("volume_ratio", WARNING)
    assert drop.examples[0]["volume_ratio"] == pytest.approx(1 / 3)
    assert drop.examples[0]["latest_period_rows"] == 1


# --------------------------------------------------------------------------------------------
# Scale: chunks add up to what one batch gives; a daily run validates the new files only
# --------------------------------------------------------------------------------------------


def test_chunked_validation_counts_like_a_single_batch(faulty: tuple[Path, Path]) -> None:
    _, warehouse = faulty
    con = duckdb.connect(str(warehouse))
    # 30,000 more usage rows: every 7th of an unknown account, every 11th on a future date,
    # every 13th repeating the key of the row before it
    con.execute(
        """
        insert into raw.usage (account_id, activity_date, user_id, feature, event_count,
                               _source_file, _loaded_at)
        select
            case when i % 7 = 0 then 'ghost' else 'A' end,
            case when i % 11 = 0 then date '2099-01-01' else date '2024-01-01' end,
            'bulk' || (case when i % 13 = 0 then i - 1 else i end),
            'reports',
            i % 5,
            'usage/usage.csv',
            (select max(_loaded_at) from raw.usage)
        from range(1, 30001) t(i)
        """
    )
    expected_orphans, expected_future = con.execute(
        "select count(*) filter (where account_id not in (select account_id from raw.accounts)),"
        " count(*) filter (where activity_date = date '2099-01-01') from raw.usage"
    ).fetchall()[0]
    (expected_dupes,) = con.execute(
        "select coalesce(sum(n), 0) from (select count(*) as n from raw.usage "
        "group by account_id, activity_date, user_id, feature having count(*) > 1)"
    ).fetchall()[0]
    con.close()
    chunked = validate(warehouse, "raw_usage", chunk_rows=1_000)
    single = validate(warehouse, "raw_usage", chunk_rows=10_000_000)
    assert chunked.chunks >= 30 and single.chunks == 1
    assert chunked.rows_validated == single.rows_validated == DAYS * 3 + 30_000

    def counts(result):
        return [
            (o.expectation_type, o.column, o.success, o.element_count, o.unexpected_count)
            for o in result.outcomes
        ]

    assert counts(chunked) == counts(single)
    found = failures(chunked)
    assert found[("expect_column_values_to_be_in_set", "_account_known")] == expected_orphans
    assert found[("expect_column_values_to_be_between", "activity_date")] == expected_future
    assert (
        found[("expect_compound_columns_to_be_unique", "account_id,activity_date,user_id,feature")]
        == expected_dupes
    )
    assert (expected_orphans, expected_future) == (4285, 2727)
    orphan = next(o for o in chunked.outcomes if o.column == "_account_known")
    assert len(orphan.examples) == 5 and all(e["account_id"] == "ghost" for e in orphan.examples)


def test_a_daily_run_validates_the_new_files_only(faulty: tuple[Path, Path]) -> None:
    exports, warehouse = faulty
    suite = next(s for s in load_suites() if s.name == "raw_billing")
    first = validate_and_record(
        warehouse, suite, parameters_for(load_parameters(), suite.name), run_id="day-1"
    )
    assert (first.rows_validated, first.success) == (DAYS, True)
    con = duckdb.connect(str(warehouse), read_only=True)
    assert pending_files(con, suite) == []
    con.close()
    # the next day: a new file with one good invoice and ten of an unknown account
    _append(
        exports,
        "billing",
        "day-2.csv",
        [f"N1,A,{LAST_DAY},{LAST_DAY},1,open,{LAST_DAY}T00:00:00Z"]
        + [f"N{n},ZZ,{LAST_DAY},{LAST_DAY},1,open,{LAST_DAY}T00:00:00Z" for n in range(2, 12)],
    )
    ingest(exports, warehouse)
    second = validate_and_record(
        warehouse, suite, parameters_for(load_parameters(), suite.name), run_id="day-2"
    )
    assert second.rows_validated == 1
    assert second.scope == "1 new file(s): billing/day-2.csv"
    assert failures(second) == {("expect_column_values_to_be_between", "quarantined_share"): 1}
    # a file that failed is validated again (and blocks again) until it is corrected
    again = validate_and_record(
        warehouse, suite, parameters_for(load_parameters(), suite.name), run_id="day-3"
    )
    assert (again.rows_validated, len(again.blocking_failures)) == (1, 1)
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(
        f"select run_id, count(*), count(*) filter (where not success), "
        f"max(unexpected_count) filter (where not success), "
        f"max(unexpected_examples) filter (where not success) "
        f"from {RESULTS_TABLE} group by run_id order by run_id"
    ).fetchall()
    con.close()
    n = len(suite.expectations)
    assert rows[0] == ("day-1", n, 0, None, None)
    assert rows[1][:4] == ("day-2", n, 1, 1)  # one file
    assert json.loads(rows[1][4]) == [
        {
            "file": "billing/day-2.csv",
            "rows_read": 11,
            "rows_quarantined": 10,
            "previous_rows": None,
            "quarantined_share": 10 / 11,
        }
    ]
    assert rows[2][:3] == ("day-3", n, 1)


def test_record_keeps_files_that_failed_pending(faulty: tuple[Path, Path]) -> None:
    _, warehouse = faulty
    suite = next(s for s in load_suites() if s.name == "raw_usage")
    edited = Suite(
        {
            **suite.data,
            "expectations": [
                *suite.expectations,
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "event_count", "max_value": 2},
                    "meta": {"frame": "rows"},
                    "severity": CRITICAL,
                },
            ],
        },
        None,
    )
    con = duckdb.connect(str(warehouse))
    scope = suite_scope(con, edited, None)
    result = validate_suite(
        con, edited, parameters_for(load_parameters(), "raw_usage"), where=scope.where
    )
    assert failures(result) == {("expect_column_values_to_be_between", "event_count"): DAYS * 3}
    record(con, result, suite=edited, run_id="r1", files=scope.files)
    assert pending_files(con, edited) == list(scope.files)  # still to validate
    con.close()


# --------------------------------------------------------------------------------------------
# Blocking checks in the real Dagster job
# --------------------------------------------------------------------------------------------


def test_a_file_of_unknown_accounts_stops_the_run_before_the_build(
    isolated_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """One unknown account is a quarantined row (tests/test_bad_input.py); a file whose rows
    are 30 % unknown accounts is a wrong export: its check blocks, nothing is built or
    published, and the run says which file, the share and the threshold."""
    from test_end_to_end import write_exports

    from healthmart.cli.run import run

    write_exports(isolated_settings.exports_dir)
    (isolated_settings.exports_dir / "support" / "late.csv").write_text(
        "ticket_id,account_id,opened_at,priority\n"
        + "".join(
            f"TX{n},{'UNKNOWN' if n % 10 < 3 else 'A'},2026-03-30T10:{n:02d}:00Z,high\n"
            for n in range(40)
        )
    )
    assert run(isolated_settings, accounts=0, months=0, seed=0) == 1
    assert not isolated_settings.serving_path.exists()
    message = (
        "raw_support: support/late.csv: 30.0 % of its rows quarantined (12 of 40), above "
        "quarantine_max_share 5.0 %; see ingest_meta.quarantine"
    )
    err = capsys.readouterr().err
    assert (
        "Blocking checks failed; nothing was published (the last published serving file, if "
        f"any, is unchanged):\n  {message}\n" in err
    )
    con = duckdb.connect(str(isolated_settings.warehouse_path), read_only=True)
    failed = con.execute(
        f"select suite, asset, expectation, column_name, severity, unexpected_count, "
        f"unexpected_examples from {RESULTS_TABLE} where not success"
    ).fetchall()
    marts = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts'"
    ).fetchall()[0]
    quarantined = con.execute(
        "select rule, count(*) from ingest_meta.quarantine where file = 'support/late.csv' "
        "group by rule"
    ).fetchall()
    con.close()
    blocking = [row[:6] + (json.loads(row[6]),) for row in failed if row[4] == CRITICAL]
    assert blocking == [
        (
            "raw_support",
            "raw/support",
            "expect_column_values_to_be_between",
            "quarantined_share",
            CRITICAL,
            1,
            [
                {
                    "file": "support/late.csv",
                    "rows_read": 40,
                    "rows_quarantined": 12,
                    "previous_rows": None,
                    "quarantined_share": 0.3,
                }
            ],
        )
    ]
    assert quarantined == [("unknown_account", 12)]
    assert marts == (0,)  # the build never ran


def test_a_blocking_mart_failure_keeps_the_last_good_serving_file(
    e2e_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rebuild fct_health_current against a suite that allows no score above 1: its check fails,
    the serving asset does not run, the published file is byte for byte the previous one."""
    from healthmart.definitions import defs
    from healthmart.defs.dbt.assets import mart_asset_key

    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "serving.duckdb"
    shutil.copy(e2e_settings.warehouse_path, warehouse)
    shutil.copy(e2e_settings.serving_path, serving)
    before = serving.read_bytes()
    expectations = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, expectations)
    path = expectations / "fct_health_current.json"
    data = json.loads(path.read_text())
    for exp in data["expectations"]:
        if exp["kwargs"].get("column") == "health_score":
            exp["kwargs"]["max_value"] = 1
    path.write_text(json.dumps(data, indent=2))
    for key, value in {
        "HEALTHMART_WAREHOUSE_PATH": str(warehouse),
        "HEALTHMART_SERVING_PATH": str(serving),
        "HEALTHMART_EXPORTS_DIR": str(e2e_settings.exports_dir),
        "HEALTHMART_EXPECTATIONS_DIR": str(expectations),
    }.items():
        monkeypatch.setenv(key, value)

    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("daily_health_job").execute_in_process(
        instance=instance,
        asset_selection=[
            mart_asset_key("fct_health_current"),
            dg.AssetKey(["serving", "healthmart_duckdb"]),
        ],
        raise_on_error=False,
    )
    assert not result.success
    # the run-failure sensor posts the failure to the configured webhook (a local server)
    with WebhookServer() as webhook:
        monkeypatch.setenv("HEALTHMART_ALERT_WEBHOOK", webhook.url)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        defs.resolve_sensor_def("run_failure_alert")(context)
    (alert,) = webhook.received
    text = alert["text"]
    assert text.startswith(f"healthmart: run {result.run_id} of daily_health_job failed.")
    assert "gx_fct_health_current on marts/fct_health_current" in text
    assert "the previous one is still served" in text
    (check,) = [e for e in result.get_asset_check_evaluations() if e.check_name.startswith("gx_")]
    assert (check.check_name, check.passed, check.severity) == (
        "gx_fct_health_current",
        False,
        dg.AssetCheckSeverity.ERROR,
    )
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert mart_asset_key("fct_health_current") in materialized
    assert dg.AssetKey(["serving", "healthmart_duckdb"]) not in materialized
    assert serving.read_bytes() == before

    con = duckdb.connect(str(warehouse), read_only=True)
    (above,) = con.execute(
        "select count(*) from marts.fct_health_current where health_score > 1"
    ).fetchall()[0]
    (recorded,) = con.execute(
        f"select unexpected_count from {RESULTS_TABLE} where suite = 'fct_health_current' "
        "and column_name = 'health_score' and not success"
    ).fetchall()
    con.close()
    assert above >= 2 and recorded == (above,)
    assert check.metadata["blocking_failures"].value == 1


def test_validation_results_are_published(e2e_settings: Settings) -> None:
    con = duckdb.connect(str(e2e_settings.serving_path), read_only=True)
    rows = con.execute(
        f"select suite, count(*), count(*) filter (where not success and blocking) "
        f"from {RESULTS_TABLE} group by suite order by suite"
    ).fetchall()
    stale = con.execute(
        f"select suite from {RESULTS_TABLE} where column_name = 'lag_days' and not success "
        "order by suite"
    ).fetchall()
    con.close()
    checked = {f"raw_{source}" for source in SOURCES} | {
        "dim_accounts",
        "fct_signal_scores_wide",
        "fct_health_scores",
        "fct_health_current",
    }
    expected = {s.name: len(s.expectations) for s in load_suites() if s.name in checked}
    assert {suite: n for suite, n, _ in rows} == expected
    assert all(blocking == 0 for _, _, blocking in rows)
    # the hand-made exports end 2026-03-31; support stops 11 days and survey 16 days before
    assert stale == [("raw_support",), ("raw_survey",)]


class WebhookServer:
    """A local HTTP server standing in for a chat webhook: it keeps the JSON bodies posted."""

    def __init__(self) -> None:
        received: list[dict] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.received = received
        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_signal_scores_suite_checks_every_signal_column_of_the_wide_rows(
    tmp_path: Path,
) -> None:
    """fct_signal_scores_wide: one row per account-day, five columns per signal; the suite
    checks each signal's columns through the lowest and highest of the row, whatever the
    signals are called, and every signal of the config has its columns."""
    warehouse = tmp_path / "wide.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema config; create schema marts")
    con.execute(
        "create table config.signal_config as select * from (values ('a'), ('b'), ('c')) t(signal)"
    )
    columns = ", ".join(
        f"raw_value__{s} double, raw_label__{s} varchar, signal_score__{s} double, "
        f"has_data__{s} boolean, weight__{s} double"
        for s in ("a", "b")  # no columns for signal c
    )
    con.execute(
        "create table marts.fct_signal_scores_wide "
        f"(account_id varchar, score_date date, {columns})"
    )
    rows = [
        # account, day, score a, weight a, score b, weight b
        ("A", 1, 40.0, 0.5, 60.0, 0.5),  # fine
        ("B", 1, 40.0, 1.0, None, None),  # fine: b missing, its weight renormalised to a
        ("C", 1, None, None, None, None),  # fine: no signal has data, no weight
        ("D", 1, 40.0, 0.5, 120.0, 0.5),  # score b above 100
        ("E", 1, -1.0, 0.7, 50.0, 0.3),  # score a below 0
        ("F", 1, 40.0, 0.5, 60.0, 0.3),  # weights sum to 0.8
        ("G", 1, 40.0, 1.5, 60.0, -0.5),  # weights out of 0-1, though they sum to 1
        ("A", 1, 40.0, 0.5, 60.0, 0.5),  # A's day twice
    ]
    con.executemany(
        "insert into marts.fct_signal_scores_wide (account_id, score_date, signal_score__a, "
        "weight__a, signal_score__b, weight__b) values (?, date '2024-01-01' + ?, ?, ?, ?, ?)",
        rows,
    )
    con.close()
    suite = next(s for s in load_suites() if s.name == "fct_signal_scores_wide")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        result = validate_suite(con, suite, parameters_for(load_parameters(), suite.name))
    finally:
        con.close()
    assert result.rows_validated == len(rows)
    assert failures(result) == {
        ("expect_column_values_to_be_between", "lowest_signal_score"): 1,  # E
        ("expect_column_values_to_be_between", "highest_signal_score"): 1,  # D
        ("expect_column_values_to_be_between", "lowest_weight"): 1,  # G
        ("expect_column_values_to_be_between", "highest_weight"): 1,  # G
        ("expect_column_values_to_be_between", "weight_sum"): 1,  # F
        ("expect_compound_columns_to_be_unique", "account_id,score_date"): 2,  # A twice
        ("expect_column_values_to_be_in_set", "has_columns"): 1,  # c
    }
    weights = next(o for o in result.outcomes if o.column == "weight_sum")
    assert weights.element_count == len(rows) - 1  # C has no signal with data
    (missing,) = next(o for o in result.outcomes if o.column == "has_columns").examples
    assert missing["signal"] == "c"
