"""Format presets: each vendor fixture (tests/fixtures/presets/<preset>/, written to the vendor's
documented format; the preset's YAML cites the documentation) loads to the same raw rows as the
same data written in the contract's format (contract.csv beside it), through the real ingest on
a temporary DuckDB file. Rows a preset cannot map are quarantined with a rule naming the value;
rows that are not data (extra header rows, drafts, identify calls) are counted as skipped.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from healthmart.core.contract import SOURCES
from healthmart.defs.ingest.config import parse_ingest_config
from healthmart.defs.ingest.load import ingest_source
from healthmart.defs.ingest.preset import load_presets

FIXTURES = Path(__file__).parent / "fixtures" / "presets"


@dataclass(frozen=True)
class Case:
    preset: str
    file: str
    read: int  # data rows (events for event presets)
    quarantined: dict[str, int]  # rule -> rows
    skipped: int = 0
    columns: dict[str, str] | None = None  # the ingest config's column mapping, if any


CASES = [
    Case("stripe_invoices_csv", "invoices.csv", 5, {"unmapped_value:status": 1}, skipped=1),
    Case("stripe_invoices_json", "invoices_page1.json", 5, {"unmapped_value:status": 1}, 1),
    Case("chargebee_invoices_json", "invoices.json", 5, {"unmapped_value:status": 1}, 1),
    Case("zendesk_tickets_csv", "tickets.csv", 5, {"unmapped_value:csat": 1}),
    Case("intercom_conversations_csv", "conversations.csv", 5, {"unmapped_value:csat": 1}),
    Case("freshdesk_tickets_csv", "tickets.csv", 4, {"unmapped_value:category": 1}),
    # two header rows after the field names and a preview response are not data
    Case("qualtrics_nps_csv", "responses.csv", 4, {"above_max:score": 1}, skipped=3),
    Case(
        "typeform_csat_csv",
        "responses.csv",
        4,
        {"out_of_scale:score": 1},
        columns={
            "How satisfied are you with Healthmart?": "score",
            "Anything we could do better?": "comment",
        },
    ),  # fmt: skip
    Case("delighted_responses_json", "survey_responses.json", 4, {"unmapped_value:survey_type": 1}),
    # events: read = events, aggregated to the contract's usage rows; identify / group calls
    # and session events are not data; events without an account or a time are quarantined
    Case(
        "segment_events_json",
        "2026-02-12-00.json.gz",
        9,
        {"required_missing:account_id": 1, "required_missing:activity_date": 1},
        skipped=2,
    ),
    Case("mixpanel_events_json", "export.jsonl", 6, {"required_missing:account_id": 1}),
    Case(
        "amplitude_events_json",
        "187520_2026-02-15_10#0.json.gz",
        5,
        {"required_missing:activity_date": 1},
        skipped=1,
    ),
    Case("salesforce_accounts_csv", "Account.csv", 4, {"invalid_type:employees": 1}),
    Case("hubspot_companies_csv", "companies.csv", 4, {"unparsed_value:signup_date": 1}),
]


def load(con: duckdb.DuckDBPyConnection, exports: Path, source: str, **config):
    cfg = parse_ingest_config(
        {"sources": {source: {"account_match": "account_id", **config}}}, Path("ingest.yml")
    )
    return ingest_source(con, source, exports, config=cfg, presets=load_presets())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.preset)
def test_vendor_export_loads_like_the_contract(case: Case, tmp_path: Path) -> None:
    preset = load_presets().get(case.preset)
    source = preset.source.name
    vendor, contract = tmp_path / "vendor", tmp_path / "contract"
    shutil.copy(FIXTURES / case.preset / case.file, _dir(vendor / source) / case.file)
    shutil.copy(FIXTURES / case.preset / "contract.csv", _dir(contract / source) / "rows.csv")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    # recognised from the header, no preset named
    got = load(con, vendor, source, **({"columns": case.columns} if case.columns else {}))
    (f,) = got.files
    assert (f.status, f.preset, f.error) == ("loaded", case.preset, None)
    assert (f.rows_read, f.rows_quarantined, f.rows_skipped) == (
        case.read,
        sum(case.quarantined.values()),
        case.skipped,
    )
    rules = dict(
        con.execute("select rule, count(*) from ingest_meta.quarantine group by rule").fetchall()
    )
    assert rules == case.quarantined
    log = con.execute(
        "select preset, rows_read, rows_loaded, rows_quarantined, rows_skipped "
        "from ingest_meta.load_log"
    ).fetchall()
    assert log == [(case.preset, f.rows_read, f.rows_loaded, f.rows_quarantined, case.skipped)]
    vendor_rows = _contract_rows(con, source)
    con.execute("drop schema raw cascade")
    con.execute("drop schema ingest_meta cascade")
    expected = load(con, contract, source)
    assert expected.files[0].preset is None and expected.rows_quarantined == 0
    assert vendor_rows == _contract_rows(con, source)
    con.close()


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _contract_rows(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    cols = ", ".join(SOURCES[source].column_names)
    return con.execute(f"select {cols} from raw.{source} order by all").fetchall()
