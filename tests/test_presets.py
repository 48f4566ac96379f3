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
    # the fixtures name our account_id where the vendor's column holds its own id (the
    # accounts export is not matched: it defines the accounts)
    match = {} if source == "accounts" else {"account_match": "account_id"}
    cfg = parse_ingest_config({"sources": {source: {**match, **config}}}, Path("ingest.yml"))
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


def test_a_preset_named_in_the_config_a_user_preset_and_no_preset(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    # The Zendesk export under other headers: not recognised, read as the contract (and
    # failing there, naming the missing columns) until the config names the preset and maps
    # the renamed columns.
    text = (FIXTURES / "zendesk_tickets_csv" / "tickets.csv").read_text()
    renamed = text.replace("Satisfaction Score", "CSAT").replace("Organization", "Org")
    (_dir(exports / "support") / "tickets.csv").write_text(renamed)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    (f,) = load(con, exports, "support").files
    assert f.status == "error" and f.preset is None
    assert "required columns 'ticket_id', 'account_id', 'opened_at' are missing" in f.error
    (f,) = load(
        con,
        exports,
        "support",
        preset="zendesk_tickets_csv",
        columns={"CSAT": "csat", "Org": "account_id"},
    ).files
    assert (f.status, f.preset, f.rows_loaded, f.rows_quarantined) == (
        "loaded",
        "zendesk_tickets_csv",
        4,
        1,
    )
    (f,) = load(con, exports, "support", preset="stripe_invoices_csv").files
    assert f.error == (
        "support/tickets.csv: preset 'stripe_invoices_csv' named in ingest.yml under "
        "sources.support.preset feeds billing (presets of support: freshdesk_tickets_csv, "
        "intercom_conversations_csv, zendesk_tickets_csv)"
    )
    # A user's preset of the same name replaces the built-in one: 'Meh' maps to 3 there.
    user = _dir(tmp_path / "presets")
    builtin = load_presets().get("zendesk_tickets_csv").path.read_text()
    (user / "zendesk_tickets_csv.yml").write_text(
        builtin.replace("values: {good: 5, bad: 1,", "values: {good: 5, meh: 3, bad: 1,")
    )
    catalog = load_presets(user)
    cfg = parse_ingest_config(
        {
            "sources": {
                "support": {
                    "preset": "zendesk_tickets_csv",
                    "columns": {"CSAT": "csat", "Org": "account_id"},
                    "account_match": "account_id",
                }
            }
        },
        Path("ingest.yml"),
    )
    result = ingest_source(con, "support", exports, config=cfg, presets=catalog)
    (f,) = result.files
    assert (f.status, f.rows_loaded, f.rows_quarantined) == ("loaded", 5, 0)
    assert con.execute("select csat from raw.support where ticket_id = '105'").fetchall() == [
        (3.0,)
    ]
    con.close()


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("name: other\nsource: billing\ncolumns: {}\n", "'other' differs from the file name"),
        (
            "name: p\nsource: support\ncolumns:\n  ticket_id: Id\n  account_id: Org\n"
            "  opened_at: Created\n  priority: {from: P, values: {Medium: middle}}\n",
            "columns.priority.values: 'Medium' is mapped to 'middle', which priority does not "
            "accept (low, normal, high, urgent)",
        ),
        (
            "name: p\nsource: usage\naggregate: events\ncolumns:\n  account_id: a\n"
            "  activity_date: {from: t, unix: hours}\n  feature: e\n",
            "columns.activity_date.unix: 'hours' is not seconds or milliseconds",
        ),
        (
            "name: p\nsource: survey\ncolumns:\n  response_id: id\n",
            "columns: required contract column(s) account_id, responded_at, survey_type, score "
            "unmapped",
        ),
    ],
)
def test_invalid_presets_are_named_with_the_key(tmp_path: Path, yaml_text: str, message: str):
    from healthmart.defs.ingest.preset import PresetError

    (tmp_path / "p.yml").write_text(yaml_text)
    with pytest.raises(PresetError) as info:
        load_presets(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'p.yml'}: "), str(info.value)
    assert message in str(info.value)


def test_inspect_names_the_preset_the_mapping_and_the_problems(tmp_path: Path, capsys) -> None:
    from healthmart.cli.main import main

    path = _dir(tmp_path / "billing") / "invoices.csv"
    shutil.copy(FIXTURES / "stripe_invoices_csv" / "invoices.csv", path)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Preset: stripe_invoices_csv - Stripe invoices (Dashboard CSV export) (recognised" in out
    assert "Accounts: the account column holds stripe_customer_id (account_match)" in out
    assert "  amount      <- 'Amount Due'\n" in out
    assert "  status      <- 'Status'  (words: paid -> paid, open -> open, uncollectible -> " in out
    # no accounts export in the landing folder: no Stripe id matches an account
    assert f"Accounts matched against nothing: no accounts export in {tmp_path / 'accounts'}" in out
    assert "Rows: 5 rows read: 0 would load, 5 would be quarantined; 1 rows are not data" in out
    assert "  unmatched_account: 4 rows\n  unmapped_value:status: 1 rows\n" in out
    assert (
        "  row 6: unmapped_value:status: status 'pending' (column 'Status') has no mapping in "
        "preset stripe_invoices_csv (it maps: paid, open, uncollectible, void)"
    ) in out
    assert not list(tmp_path.glob("*.duckdb"))  # nothing written
    # with the accounts export of the landing folder: the ids it does not know are named
    (_dir(tmp_path / "accounts") / "accounts.csv").write_text(
        "account_id,signup_date,stripe_customer_id\nacme,2025-01-01,A\n"
    )
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Accounts checked against 1 rows of {tmp_path / 'accounts'}" in out
    assert "Rows: 5 rows read: 2 would load, 3 would be quarantined; 1 rows are not data" in out
    assert "  unmatched_account: 2 rows\n" in out
    assert "stripe_customer_id 'B' matches no account" in out
    assert not list(tmp_path.glob("*.duckdb"))
    # several presets match: none is used, and inspect says which
    both = _dir(tmp_path / "usage") / "events.jsonl"
    both.write_text(
        '{"event": "x", "properties": {"time": 1, "distinct_id": "u"}, "event_type": "x", '
        '"event_time": "2026-01-01 00:00:00"}\n'
    )
    assert main(["inspect", str(both)]) == 1
    out = capsys.readouterr().out
    assert (
        "Preset: none - several presets match (amplitude_events_json, mixpanel_events_json)" in out
    )


# ------------------------------------------------------------------------------------------
# End to end: the hand-made exports of tests/test_end_to_end.py as the vendors export them
# ------------------------------------------------------------------------------------------

HUBSPOT = """Record ID,Company name,Industry,Number of Employees,Create Date,Became a Customer Date,Last Modified Date,Company owner,Region,Segment,Plan,Contract start date,Contract end date,ARR,Licensed seats
A,Acme,retail,80,2023-12-01 10:00,2024-01-01,2026-01-01 00:00,Ann,EMEA,smb,growth,2026-01-01,2026-12-31,12000,10
B,Beta,retail,20,2024-06-01 09:00,,2026-01-01 00:00,Ann,EMEA,smb,starter,06/01/2025,05/31/2026,4800,4
C,Core,software,900,2025-01-01 00:00,,2026-01-01 00:00,Bob,NA,enterprise,enterprise,2026-01-01,2026-12-31,50000,20
D,Dormant,media,30,2024-01-01 00:00,,2026-01-01 00:00,Bob,NA,smb,starter,2026-01-01,2026-12-31,6000,5
"""  # noqa: E501

STRIPE = """id,Number,Customer,Date (UTC),Due Date (UTC),Amount Due,Currency,Status,Paid At (UTC)
A0,0001,A,2025-12-01 00:00,2025-12-31 00:00,1000.00,usd,paid,2025-12-15 09:12
A1,0002,A,2026-01-01 00:00,2026-01-31 00:00,1000.00,usd,paid,2026-01-20 09:12
A2,0003,A,2026-02-01 00:00,2026-03-03 00:00,1000.00,usd,paid,2026-03-10 09:12
A3,0004,A,2026-03-01 00:00,2026-03-31 00:00,1000.00,usd,paid,2026-03-25 09:12
B1,0005,B,2025-12-01 00:00,2025-12-31 00:00,400.00,usd,uncollectible,
C1,0006,C,2026-01-01 00:00,2026-01-31 00:00,50000.00,usd,paid,2026-01-30 23:59
D1,0007,D,2026-01-01 00:00,2026-01-31 00:00,500.00,usd,paid,2026-01-15 00:00
D2,0008,D,2026-02-01 00:00,2026-03-03 00:00,500.00,usd,paid,2026-02-20 00:00
D3,0009,D,2026-03-01 00:00,2026-03-31 00:00,500.00,usd,paid,2026-03-20 00:00
D4,0010,D,2026-03-05 00:00,,500.00,usd,draft,
X1,0011,A,2026-03-01 00:00,2026-03-31 00:00,999.00,usd,pending,
"""

INTERCOM = """Conversation ID,Conversation started at (America/New_York),Conversation last closed at (America/New_York),Company ID,Priority,Category,Conversation rating,Time to first response (seconds)
TA1,2026-03-20 06:00:00,2026-03-21 06:00:00,A,Not priority,question,Great,1800
"""  # noqa: E501

ZENDESK = """Id,Organization,Subject,Status,Priority,Ticket type,Created at,Updated at,Solved at,Satisfaction Score,First reply time in minutes
TB1,B,Site down,solved,Urgent,Incident,2026-02-10 11:00:00 +0100,2026-02-12 11:00:00 +0100,2026-02-12 11:00:00 +0100,Bad,240
"""  # noqa: E501

QUALTRICS = """StartDate,EndDate,Status,Progress,Finished,RecordedDate,ResponseId,ExternalReference,DistributionChannel,Q1,Q1_NPS_GROUP
Start Date,End Date,Response Type,Progress,Finished,Recorded Date,Response ID,External Data Reference,Distribution Channel,How likely are you to recommend us?,How likely are you to recommend us? - Group
"{""ImportId"":""startDate""}","{""ImportId"":""endDate""}","{""ImportId"":""status""}","{""ImportId"":""progress""}","{""ImportId"":""finished""}","{""ImportId"":""recordedDate"",""timeZone"":""UTC""}","{""ImportId"":""_recordId""}","{""ImportId"":""externalDataReference""}","{""ImportId"":""distributionChannel""}","{""ImportId"":""QID1""}","{""ImportId"":""QID1_NPS_GROUP""}"
2026-02-01 11:59:00,2026-02-01 12:00:00,IP Address,100,True,2026-02-01 12:00:00,SA1,A,email,9,Promoter
2026-03-01 11:59:00,2026-03-01 12:00:00,IP Address,100,True,2026-03-01 12:00:00,SA2,A,email,10,Promoter
2026-03-05 11:59:00,2026-03-05 12:00:00,IP Address,100,True,2026-03-05 12:00:00,SA3,A,email,6,Detractor
2026-02-01 11:59:00,2026-02-01 12:00:00,IP Address,100,True,2026-02-01 12:00:00,SB1,B,email,2,Detractor
"""  # noqa: E501

TYPEFORM = """#,How satisfied are you with us?,account_id,Start Date (UTC),Submit Date (UTC),Network ID
SA4,10,A,2026-03-15 11:58:00,2026-03-15 12:00:00,9f3a0c1d2e
"""  # noqa: E501

VENDOR_CONFIG = """version: 1
sources:
  # The fixtures name accounts by account_id (the vendors' own ids need account matching).
  billing: {account_match: account_id}
  support:
    account_match: account_id
    columns: {Category: category}  # a conversation data attribute in Intercom
  survey:
    account_match: account_id
    columns: {"How satisfied are you with us?": score}  # the Typeform question's title
  usage: {account_match: account_id}
"""


def write_vendor_exports(exports: Path) -> None:
    """The data of test_end_to_end.write_exports, in the vendors' formats (csm and outcomes,
    which have no vendor format here, as they are)."""
    import gzip
    import json

    from test_end_to_end import CSM, OUTCOMES

    write = {
        "accounts/accounts.csv": HUBSPOT,
        "billing/stripe_invoices.csv": STRIPE,
        "support/intercom_conversations.csv": INTERCOM,
        "support/zendesk_tickets.csv": ZENDESK,
        "survey/qualtrics_nps.csv": QUALTRICS,
        "survey/typeform_csat.csv": TYPEFORM,
        "csm/assessments.csv": CSM,
        "outcomes/outcomes.csv": OUTCOMES,
    }
    for rel, text in write.items():
        (_dir((exports / rel).parent) / Path(rel).name).write_text(text)
    _dir(exports / "usage")
    segment = [
        {"type": "group", "userId": "a1", "groupId": "A", "timestamp": "2026-02-09T08:00:00Z"}
    ]
    for day, feature in (("2026-02-10", "reports"), ("2026-03-10", "dashboards")):
        for user in range(1, 6):
            for i in range(5):
                segment.append(
                    {"type": "track", "event": feature, "userId": f"a{user}",
                     "context": {"groupId": "A"}, "messageId": f"m-{day}-{user}-{i}",
                     "timestamp": f"{day}T{9 + i:02d}:30:00.000Z"}
                )  # fmt: skip
    mixpanel = [
        {"event": "reports",
         "properties": {"time": 1767607200 + 60 * i, "distinct_id": "b1", "account_id": "B"}}
        for i in range(3)  # 2026-01-05 10:00 UTC
    ]  # fmt: skip
    amplitude = [
        {"event_type": "api", "event_time": f"{day} 0{i}:00:00.000000", "user_id": f"c{user}",
         "user_properties": {"account_id": "C"}, "groups": {}}
        for day, users in (("2026-01-15", 2), ("2026-02-15", 4), ("2026-03-31", 10))
        for user in range(1, users + 1)
        for i in range(2)
    ]  # fmt: skip
    for name, events in (
        ("segment.json.gz", segment),
        ("mixpanel.jsonl", mixpanel),
        ("amplitude_2026#0.json.gz", amplitude),
    ):
        lines = "".join(json.dumps(e) + "\n" for e in events)
        path = exports / "usage" / name
        if name.endswith(".gz"):
            with gzip.open(path, "wt") as fh:
                fh.write(lines)
        else:
            path.write_text(lines)


def test_a_folder_of_vendor_exports_gives_the_marts_of_the_contract_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, e2e_settings
) -> None:
    from test_late_data import mart_differences

    from healthmart.cli.run import run
    from healthmart.core.settings import Settings

    config = tmp_path / "ingest.yml"
    config.write_text(VENDOR_CONFIG)
    settings = Settings(
        exports_dir=tmp_path / "exports",
        serving_path=tmp_path / "serving.duckdb",
        warehouse_path=tmp_path / "warehouse.duckdb",
        preset="hbr",
        ingest_config=config,
    )
    write_vendor_exports(settings.exports_dir)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("HEALTHMART_REPORT_PATH", str(tmp_path / "health_report.html"))
    assert run(settings, accounts=0, months=0, seed=0) == 0
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        log = con.execute(
            "select file, preset, rows_read, rows_loaded, rows_quarantined, rows_skipped, "
            "rows_written from ingest_meta.load_log where status = 'loaded' order by file"
        ).fetchall()
    assert log == [
        ("accounts/accounts.csv", "hubspot_companies_csv", 4, 4, 0, 0, None),
        ("billing/stripe_invoices.csv", "stripe_invoices_csv", 10, 9, 1, 1, None),
        ("csm/assessments.csv", None, 2, 2, 0, 0, None),
        ("outcomes/outcomes.csv", None, 1, 1, 0, 0, None),
        ("support/intercom_conversations.csv", "intercom_conversations_csv", 1, 1, 0, 0, None),
        ("support/zendesk_tickets.csv", "zendesk_tickets_csv", 1, 1, 0, 0, None),
        ("survey/qualtrics_nps.csv", "qualtrics_nps_csv", 4, 4, 0, 2, None),
        ("survey/typeform_csat.csv", "typeform_csat_csv", 1, 1, 0, 0, None),
        ("usage/amplitude_2026#0.json.gz", "amplitude_events_json", 32, 32, 0, 0, 16),
        ("usage/mixpanel.jsonl", "mixpanel_events_json", 3, 3, 0, 0, 1),
        ("usage/segment.json.gz", "segment_events_json", 50, 50, 0, 1, 10),
    ]
    assert mart_differences(settings.serving_path, e2e_settings.serving_path) == {}


def test_title_rows_a_total_line_and_us_dates_in_a_users_preset(tmp_path: Path) -> None:
    # An accounting report (QuickBooks-like): three title lines, MM/DD/YYYY, a TOTAL line.
    user = _dir(tmp_path / "presets")
    (user / "acme_billing_csv.yml").write_text(
        "name: acme_billing_csv\nsource: billing\nrecognise: [Invoice No, Client]\n"
        "header: {skip_rows: 3}\n"
        "skip_rows_where: [{column: Invoice No, matches: '^TOTAL'}]\n"
        "columns:\n  invoice_id: Invoice No\n  account_id: Client\n"
        "  issued_date: {from: Date, format: '%m/%d/%Y'}\n"
        "  due_date: {from: [Due, Date], format: '%m/%d/%Y'}\n"
        "  amount: Total\n  status: {from: State, values: {paid: paid, open: open}}\n"
    )
    (_dir(tmp_path / "exports" / "billing") / "report.csv").write_text(
        "Acme Corp\nInvoice List\nJanuary 1 - March 31, 2026\n"
        "Invoice No,Client,Date,Due,Total,State\n"
        "1001,A,01/15/2026,02/14/2026,100.00,Paid\n"
        "1002,B,02/15/2026,,50.00,Open\n"
        "1003,B,02/30/2026,,50.00,Open\n"
        "TOTAL,,,,200.00,\n"
    )
    con = duckdb.connect()
    result = ingest_source(con, "billing", tmp_path / "exports", presets=load_presets(user))
    (f,) = result.files
    assert (f.preset, f.rows_read, f.rows_loaded, f.rows_skipped) == ("acme_billing_csv", 3, 2, 1)
    assert con.execute(
        "select invoice_id, issued_date::varchar, due_date::varchar, amount, _source_row "
        "from raw.billing order by 1"
    ).fetchall() == [
        ("1001", "2026-01-15", "2026-02-14", 100.0, 1),
        ("1002", "2026-02-15", "2026-02-15", 50.0, 2),
    ]
    assert con.execute(
        "select row_number, rule, detail from ingest_meta.quarantine"
    ).fetchall() == [
        (
            3,
            "unparsed_value:issued_date",
            "issued_date '02/30/2026' (column 'Date') is not a time as %m/%d/%Y "
            "(preset acme_billing_csv)",
        )
    ]


def test_a_preset_s_tool_id_is_matched_through_the_accounts_export(tmp_path: Path) -> None:
    """Without account_match in the config, the Stripe preset's customer ids are matched to
    account_id through the accounts export's stripe_customer_id column; an id that names no
    account is quarantined as unmatched_account (the fixture's pending invoice, a status the
    preset does not map, as before)."""
    exports = tmp_path / "exports"
    (_dir(exports / "accounts") / "accounts.csv").write_text(
        "account_id,signup_date,stripe_customer_id\nacme,2025-01-01,A\nglobex,2025-01-01,B\n"
    )
    shutil.copy(
        FIXTURES / "stripe_invoices_json" / "invoices_page1.json",
        _dir(exports / "billing") / "invoices_page1.json",
    )
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    no_config = parse_ingest_config({}, Path("ingest.yml"))
    ingest_source(con, "accounts", exports, config=no_config)
    (f,) = ingest_source(con, "billing", exports, config=no_config, presets=load_presets()).files
    assert (f.status, f.preset, f.rows_loaded, f.rows_quarantined) == (
        "loaded",
        "stripe_invoices_json",
        3,
        2,
    )
    assert con.execute(
        "select invoice_id, account_id, _source_account_ref from raw.billing order by invoice_id"
    ).fetchall() == [("in_1OaA", "acme", "A"), ("in_1OaB", "globex", "B"), ("in_1OaC", "acme", "A")]
    assert con.execute(
        "select rule, account_ref from ingest_meta.quarantine order by rule"
    ).fetchall() == [("unmapped_value:status", None), ("unmatched_account", "C")]
    con.close()


def test_events_aggregate_to_the_matched_account(tmp_path: Path) -> None:
    """Segment events name the account by its group id: matched through the accounts
    export's segment_group_id column, they aggregate to usage rows of our account_id, each
    keeping the group id; the events of a group no account has are quarantined."""
    exports = tmp_path / "exports"
    (_dir(exports / "accounts") / "accounts.csv").write_text(
        "account_id,signup_date,segment_group_id\nacme,2025-01-01,A\n"
    )
    events = "2026-02-12-00.json.gz"
    shutil.copy(FIXTURES / "segment_events_json" / events, _dir(exports / "usage") / events)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    no_config = parse_ingest_config({}, Path("ingest.yml"))
    ingest_source(con, "accounts", exports, config=no_config)
    (f,) = ingest_source(con, "usage", exports, config=no_config, presets=load_presets()).files
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_written) == ("loaded", 9, 6, 3)
    assert con.execute(
        "select account_id, activity_date::varchar, user_id, feature, event_count, "
        "_source_account_ref from raw.usage order by all"
    ).fetchall() == [
        ("acme", "2026-02-10", "a1", "Report Viewed", 3, "A"),
        ("acme", "2026-02-11", "a2", "Dashboards", 2, "A"),
        ("acme", "2026-02-11", "a2", "Report Viewed", 1, "A"),
    ]
    assert con.execute(
        "select rule, count(*) from ingest_meta.quarantine group by rule order by rule"
    ).fetchall() == [
        ("required_missing:account_id", 1),
        ("required_missing:activity_date", 1),
        ("unmatched_account", 1),
    ]
    con.close()
