"""The bad-input corpus: every way an export can be wrong, and exactly what happens.

Most cases call the ingest directly on a temporary DuckDB file (no dbt): each writes a few
files into a landing folder, loads them, and checks per file the status, rows read / loaded /
quarantined, the quarantined rows' rules and row numbers, and for a file that cannot be read
the one error line naming the file and the problem (also in ingest_meta.load_log). Every
loaded file satisfies rows read = loaded + quarantined, checked against the tables.

The last test runs the real job on the hand-made exports of tests/test_end_to_end.py with
faults injected by hand and checks the marts equal those of the clean run (conftest
`e2e_settings`), row for row.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import json
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_end_to_end import write_exports
from test_late_data import mart_differences

from healthmart.cli.run import run
from healthmart.core.settings import Settings
from healthmart.defs.ingest.config import (
    IngestConfig,
    IngestConfigError,
    load_ingest_config,
    parse_ingest_config,
)
from healthmart.defs.ingest.load import ingest_all, ingest_source

BILLING_H = "invoice_id,account_id,issued_date,due_date,amount,currency,paid_date,status,updated_at"
SUPPORT_H = (
    "ticket_id,account_id,opened_at,closed_at,priority,category,csat,first_response_minutes,"
    "updated_at"
)
SURVEY_H = "response_id,account_id,responded_at,survey_type,score,respondent_role,comment"
USAGE_H = "account_id,activity_date,user_id,feature,event_count,minutes"
CSM_H = "account_id,assessed_at,sentiment,renewal_intent,author,note,valid_until"
OUTCOMES_H = "account_id,event_date,event_type,reason,arr_change"
ACCOUNTS_H = "account_id,account_name,signup_date,employees"

INVOICE = "I1,A1,2026-01-01,2026-01-31,10,EUR,,paid,"
TICKET = "T1,A1,2026-01-02T10:00:00Z,2026-01-02T12:00:00Z,normal,bug,4,30,"
RESPONSE = "R1,A1,2026-01-03T09:00:00Z,nps,9,end_user,fine"
EVENT = "A1,2026-01-04,u1,reports,3,1.5"
ASSESSMENT = "A1,2026-01-05 09:00:00,4,likely,Ann,,"
OUTCOME = "A1,2026-01-06,renewed,,"
ACCOUNT = "A1,Acme,2025-01-01,10"


def csv(header: str, *rows: str) -> str:
    return "\n".join((header, *rows)) + "\n"


@dataclass(frozen=True)
class Outcome:
    status: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    rules: tuple[tuple[int, str], ...] = ()  # (row number, rule) of the quarantined rows
    error: str | None = None  # the problem, after "<file>: "
    encoding: str | None = None


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, bytes | str]  # path under the landing folder -> content
    expect: dict[str, Outcome]
    config: str | None = None  # YAML of the ingest config
    values: tuple[str, list[tuple]] | None = None  # a query on raw and its exact result
    extra: dict = field(default_factory=dict)


def loaded(read: int, quarantined: int = 0, *rules: tuple[int, str], **kw) -> Outcome:
    return Outcome("loaded", read, read - quarantined, quarantined, tuple(rules), **kw)


def error(problem: str) -> Outcome:
    return Outcome("error", error=problem)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def truncated_gzip() -> bytes:
    data = gzip.compress(
        csv(BILLING_H, *[INVOICE.replace("I1", f"I{i}") for i in range(3000)]).encode()
    )
    return data[: len(data) // 2]


def gz(text: str) -> bytes:
    return gzip.compress(text.encode())


MISSING_AMOUNT = (
    "required column 'amount' is missing (found columns: {found}); if the export names it "
    "differently, map it in {config} under sources.billing.columns"
)
NO_CONFIG = "the ingest config (HEALTHMART_INGEST_CONFIG)"


def row_rule_case(id: str, path: str, header: str, good: str, bad: str, rule: str) -> Case:
    return Case(id, {path: csv(header, good, bad)}, {path: loaded(2, 1, (2, rule))})


ROW_RULES = [
    # billing
    row_rule_case(
        "bad_type_amount",
        "billing/jan.csv",
        BILLING_H,
        INVOICE,
        "I2,A1,2026-01-01,2026-01-31,12 EUR,EUR,,paid,",
        "invalid_type:amount",
    ),
    row_rule_case(
        "bad_type_date_not_iso",
        "billing/jan.csv",
        BILLING_H,
        INVOICE,
        "I2,A1,31/01/2026,2026-02-28,10,EUR,,paid,",
        "invalid_type:issued_date",
    ),
    row_rule_case(
        "required_null_account",
        "billing/jan.csv",
        BILLING_H,
        INVOICE,
        "I2,,2026-01-01,2026-01-31,10,EUR,,paid,",
        "required_missing:account_id",
    ),
    row_rule_case(
        "accepted_value_status",
        "billing/jan.csv",
        BILLING_H,
        INVOICE,
        "I2,A1,2026-01-01,2026-01-31,10,EUR,,pending,",
        "not_accepted:status",
    ),
    row_rule_case(
        "negative_amount",
        "billing/jan.csv",
        BILLING_H,
        INVOICE,
        "I2,A1,2026-01-01,2026-01-31,-10,EUR,,paid,",
        "below_min:amount",
    ),
    row_rule_case(
        "due_date_before_issued_date",
        "billing/jan.csv",
        BILLING_H,
        INVOICE,
        "I2,A1,2026-01-31,2026-01-01,10,EUR,,open,",
        "due_date_before_issued_date",
    ),
    row_rule_case(
        "period_end_before_period_start",
        "billing/jan.csv",
        BILLING_H + ",period_start,period_end",
        INVOICE + ",2026-01-01,2026-01-31",
        "I2,A1,2026-01-01,2026-01-31,10,EUR,,open,,2026-02-01,2026-01-31",
        "period_end_before_period_start",
    ),
    # support
    row_rule_case(
        "closed_before_opened",
        "support/t.csv",
        SUPPORT_H,
        TICKET,
        "T2,A1,2026-01-02T10:00:00Z,2026-01-01T10:00:00Z,high,bug,,,",
        "closed_before_opened",
    ),
    row_rule_case(
        "ticket_csat_0",
        "support/t.csv",
        SUPPORT_H,
        TICKET,
        "T2,A1,2026-01-02T10:00:00Z,,high,bug,0,,",
        "below_min:csat",
    ),
    row_rule_case(
        "ticket_priority_not_accepted",
        "support/t.csv",
        SUPPORT_H,
        TICKET,
        "T2,A1,2026-01-02T10:00:00Z,,p1,bug,,,",
        "not_accepted:priority",
    ),
    row_rule_case(
        "timestamp_not_a_timestamp",
        "support/t.csv",
        SUPPORT_H,
        TICKET,
        "T2,A1,yesterday,,high,bug,,,",
        "invalid_type:opened_at",
    ),
    # survey
    row_rule_case(
        "nps_11",
        "survey/s.csv",
        SURVEY_H,
        RESPONSE,
        "R2,A1,2026-01-03T09:00:00Z,nps,11,,",
        "above_max:score",
    ),
    row_rule_case(
        "survey_csat_0",
        "survey/s.csv",
        SURVEY_H,
        RESPONSE,
        "R2,A1,2026-01-03T09:00:00Z,csat,0,,",
        "csat_score_out_of_range",
    ),
    row_rule_case(
        "survey_csat_6",
        "survey/s.csv",
        SURVEY_H,
        RESPONSE,
        "R2,A1,2026-01-03T09:00:00Z,csat,6,,",
        "csat_score_out_of_range",
    ),
    row_rule_case(
        "nps_not_integer",
        "survey/s.csv",
        SURVEY_H,
        RESPONSE,
        "R2,A1,2026-01-03T09:00:00Z,nps,7.5,,",
        "nps_score_not_integer",
    ),
    # usage, csm, outcomes, accounts
    row_rule_case(
        "negative_event_count",
        "usage/u.csv",
        USAGE_H,
        EVENT,
        "A1,2026-01-04,u2,reports,-1,",
        "below_min:event_count",
    ),
    row_rule_case(
        "event_count_not_integer",
        "usage/u.csv",
        USAGE_H,
        EVENT,
        "A1,2026-01-04,u2,reports,2.5,",
        "invalid_type:event_count",
    ),
    row_rule_case(
        "csm_sentiment_0",
        "csm/c.csv",
        CSM_H,
        ASSESSMENT,
        "A2,2026-01-05 09:00:00,0,likely,Ann,,",
        "below_min:sentiment",
    ),
    row_rule_case(
        "outcome_type_not_accepted",
        "outcomes/o.csv",
        OUTCOMES_H,
        OUTCOME,
        "A2,2026-01-06,paused,,",
        "not_accepted:event_type",
    ),
    row_rule_case(
        "account_signup_missing",
        "accounts/a.csv",
        ACCOUNTS_H,
        ACCOUNT,
        "A2,Beta,,5",
        "required_missing:signup_date",
    ),
    Case(
        "duplicate_key_in_file",
        {"billing/jan.csv": csv(BILLING_H, INVOICE, INVOICE.replace(",10,", ",12,"))},
        {"billing/jan.csv": loaded(2, 1, (1, "duplicate_key_in_file"))},
        values=("select invoice_id, amount, _source_row from raw.billing", [("I1", 12.0, 2)]),
    ),
    Case(
        "duplicate_key_across_files",  # both kept in raw; staging keeps the newest version
        {
            "billing/jan.csv": csv(BILLING_H, INVOICE),
            "billing/jan_again.csv": csv(BILLING_H, INVOICE.replace(",10,", ",12,")),
        },
        {"billing/jan.csv": loaded(1), "billing/jan_again.csv": loaded(1)},
        values=(
            "select _source_file, amount from raw.billing order by 1",
            [("billing/jan.csv", 10.0), ("billing/jan_again.csv", 12.0)],
        ),
    ),
    Case(
        "malformed_csv_line",
        {"billing/jan.csv": csv(BILLING_H, INVOICE, INVOICE + ",x,y", "I3,A1")},
        {"billing/jan.csv": loaded(3, 2, (2, "malformed_row"), (3, "malformed_row"))},
    ),
]

UNREADABLE = [
    Case(
        "wrong_encoding_set",
        {"accounts/a.csv": csv(ACCOUNTS_H, "A1,Café,2025-01-01,1").encode("latin-1")},
        {
            "accounts/a.csv": error(
                "cannot be decoded as ascii: 'ascii' codec can't decode byte 0xe9 in position "
                "52: ordinal not in range(128)"
            )
        },
        config="sources:\n  accounts:\n    encoding: ascii\n",
    ),
    Case(
        "truncated_gzip",
        {"billing/jan.csv.gz": truncated_gzip()},
        {
            "billing/jan.csv.gz": error(
                "cannot be decompressed as gzip: Compressed file ended before the "
                "end-of-stream marker was reached"
            )
        },
        extra={"error_contains": "gzip"},
    ),
    Case(
        "not_a_csv",
        {"billing/notes.csv": "Dear team,\nplease find the invoices attached.\n"},
        {
            "billing/notes.csv": error(
                "required columns 'invoice_id', 'account_id', 'issued_date', 'due_date', "
                "'amount', 'status' are missing (found columns: Dear team, column1); if the "
                f"export names them differently, map them in {NO_CONFIG} under "
                "sources.billing.columns"
            )
        },
    ),
    Case(
        "empty_file",
        {"billing/jan.csv": b""},
        {"billing/jan.csv": error("file is empty (0 bytes)")},
    ),
    Case(
        "header_only",
        {"billing/jan.csv": csv(BILLING_H)},
        {"billing/jan.csv": error("has a header line but no data rows (nothing loaded)")},
    ),
    Case(
        "required_column_missing",
        {
            "billing/jan.csv": csv(
                "invoice_id,account_id,issued_date,due_date,status",
                "I1,A1,2026-01-01,2026-01-31,paid",
            )
        },
        {
            "billing/jan.csv": error(
                MISSING_AMOUNT.format(
                    found="invoice_id, account_id, issued_date, due_date, status", config=NO_CONFIG
                )
            )
        },
    ),
    Case(
        "renamed_column_unmapped",
        {"billing/jan.csv": csv(BILLING_H.replace("amount", "Betrag"), INVOICE)},
        {
            "billing/jan.csv": error(
                MISSING_AMOUNT.format(
                    found=BILLING_H.replace("amount", "Betrag").replace(",", ", "),
                    config="{config}",
                )
            )
        },
        config="sources:\n  billing:\n    encoding: utf-8\n",
    ),
    Case(
        "binary_junk",
        {"billing/jan.csv": bytes(range(256)) * 4},
        {"billing/jan.csv": error("cannot be read as CSV: the file contains binary data")},
    ),
    Case(
        "parquet_wrong_types",
        {
            "billing/jan.parquet": parquet_bytes(
                pa.table(
                    {
                        "invoice_id": ["I1"],
                        "account_id": ["A1"],
                        "issued_date": [True],
                        "due_date": ["2026-01-31"],
                        "amount": [10.0],
                        "status": ["paid"],
                    }
                )
            )
        },
        {
            "billing/jan.parquet": error(
                "column 'issued_date' has Parquet type BOOLEAN, which cannot hold issued_date "
                "values (DATE or text expected)"
            )
        },
    ),
    Case(
        "parquet_nested_amount",
        {
            "billing/jan.parquet": parquet_bytes(
                pa.table(
                    {
                        "invoice_id": ["I1"],
                        "account_id": ["A1"],
                        "issued_date": [date(2026, 1, 1)],
                        "due_date": [date(2026, 1, 31)],
                        "amount": [[10.0, 2.0]],
                        "status": ["paid"],
                    }
                )
            )
        },
        {
            "billing/jan.parquet": error(
                "column 'amount' has Parquet type DOUBLE[], which cannot hold amount values "
                "(DOUBLE or text expected)"
            )
        },
    ),
    Case(
        "parquet_not_parquet",
        {"billing/jan.parquet": b"PAR1 certainly not parquet"},
        {"billing/jan.parquet": error("cannot be read as Parquet: ")},
    ),
    Case(
        "ndjson_line_not_json",
        {"billing/jan.ndjson": json.dumps({"invoice_id": "I1"}) + "\n{'invoice_id': 'I2'}\n"},
        {
            "billing/jan.ndjson": error(
                "cannot be read as NDJSON: line 2 is not valid JSON (Expecting property name "
                "enclosed in double quotes): \"{'invoice_id': 'I2'}\""
            )
        },
    ),
    Case(
        "ndjson_line_not_an_object",
        {"survey/s.ndjson": "[1, 2, 3]\n"},
        {
            "survey/s.ndjson": error(
                "cannot be read as NDJSON: line 1 is not a JSON object: '[1, 2, 3]'"
            )
        },
    ),
]

ENCODINGS = [
    Case(
        "latin1_csv",
        {"accounts/a.csv": csv(ACCOUNTS_H, "A1,Café Müller,2025-01-01,1").encode("latin-1")},
        {"accounts/a.csv": loaded(1, encoding="latin-1")},
        values=("select account_name from raw.accounts", [("Café Müller",)]),
    ),
    Case(
        "cp1252_excel_csv_semicolons",
        {
            "accounts/a.csv": csv(
                ACCOUNTS_H.replace(",", ";"), "A1;“Smart” €uro GmbH;2025-01-01;1"
            ).encode("cp1252")
        },
        {"accounts/a.csv": loaded(1, encoding="cp1252")},
        values=("select account_name from raw.accounts", [("“Smart” €uro GmbH",)]),
    ),
    Case(
        "utf8_bom",
        {"accounts/a.csv": codecs.BOM_UTF8 + csv(ACCOUNTS_H, ACCOUNT).encode()},
        {"accounts/a.csv": loaded(1, encoding="utf-8")},
        values=("select account_id, signup_date from raw.accounts", [("A1", date(2025, 1, 1))]),
    ),
    Case(
        "utf16_excel_unicode_text",  # Excel's "Unicode text": UTF-16 with a BOM, tabs
        {
            "accounts/a.csv": csv(
                ACCOUNTS_H.replace(",", "\t"), "A1\tŁódź Ærø\t2025-01-01\t1"
            ).encode("utf-16")
        },
        {"accounts/a.csv": loaded(1, encoding="utf-16")},
        values=("select account_name from raw.accounts", [("Łódź Ærø",)]),
    ),
    Case(
        "encoding_set_in_config",  # latin-1 bytes that are also valid cp1252, read as latin-1
        {"accounts/a.csv": csv(ACCOUNTS_H, "A1,Señor Ñandú,2025-01-01,1").encode("latin-1")},
        {"accounts/a.csv": loaded(1, encoding="latin-1")},
        config="sources:\n  accounts:\n    encoding: ISO-8859-1\n",
        values=("select account_name from raw.accounts", [("Señor Ñandú",)]),
    ),
]

MAPPING = [
    Case(
        "renamed_columns_mapped",
        {
            "billing/jan.csv": csv(
                "Invoice No;Customer;Issued;Due;Betrag;Currency;Status",
                "I1;A1;2026-01-01;2026-01-31;10.5;EUR;PAID",
            )
        },
        {"billing/jan.csv": loaded(1)},
        config=(
            "sources:\n  billing:\n    delimiter: ';'\n    columns:\n"
            "      Invoice No: invoice_id\n      customer: account_id\n      Issued: issued_date\n"
            "      Due: due_date\n      Betrag: amount\n"
        ),
        values=(
            "select invoice_id, account_id, amount, status from raw.billing",
            [("I1", "A1", 10.5, "paid")],
        ),
    ),
    Case(
        "mapping_for_another_source_only",
        {"billing/jan.csv": csv(BILLING_H.replace("amount", "Betrag"), INVOICE)},
        {
            "billing/jan.csv": error(
                MISSING_AMOUNT.format(
                    found=BILLING_H.replace("amount", "Betrag").replace(",", ", "),
                    config="{config}",
                )
            )
        },
        config="sources:\n  support:\n    columns:\n      Betrag: csat\n",
    ),
]

CASES = ROW_RULES + UNREADABLE + ENCODINGS + MAPPING


@pytest.fixture
def con(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield c
    c.close()


def write_files(exports: Path, files: dict[str, bytes | str]) -> None:
    for rel, content in files.items():
        path = exports / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


def check_accounted(con, source: str, file: str, outcome: Outcome) -> None:
    """rows read = loaded + quarantined, in the result, the tables and the load log."""
    n_raw = con.execute(
        f"select count(*) from raw.{source} where _source_file = ?", [file]
    ).fetchone()[0]
    quarantine = con.execute(
        "select row_number, rule from ingest_meta.quarantine where file = ? order by 1", [file]
    ).fetchall()
    log = con.execute(
        "select status, rows_read, rows_loaded, rows_quarantined, error "
        "from ingest_meta.load_log where file = ? order by finished_at desc limit 1",
        [file],
    ).fetchone()
    assert n_raw == outcome.loaded
    assert quarantine == list(outcome.rules)
    assert log[:4] == (outcome.status, outcome.read, outcome.loaded, outcome.quarantined)
    assert outcome.read == outcome.loaded + outcome.quarantined


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, con, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_files(exports, case.files)
    config = IngestConfig(None)
    if case.config is not None:
        config_path = tmp_path / "ingest.yml"
        config_path.write_text(case.config)
        config = load_ingest_config(config_path, required=True)
    sources = sorted({rel.split("/")[0] for rel in case.files})
    results = ingest_all(con, exports, sources, config=config)
    by_file = {f.file: f for r in results.values() for f in r.files}
    assert set(by_file) == set(case.expect)
    for file, want in case.expect.items():
        got = by_file[file]
        assert (got.status, got.rows_read, got.rows_loaded, got.rows_quarantined) == (
            want.status,
            want.read,
            want.loaded,
            want.quarantined,
        ), got
        if want.error is not None:
            problem = want.error.replace("{config}", str(config.path))
            assert got.error is not None and got.error.startswith(f"{file}: {problem}"), got.error
            assert "\n" not in got.error
            if "error_contains" in case.extra:
                assert case.extra["error_contains"] in got.error.lower()
            logged = con.execute(
                "select status, error from ingest_meta.load_log where file = ?", [file]
            ).fetchall()
            assert logged == [("error", got.error)]
        else:
            assert got.error is None
        if want.encoding is not None:
            assert got.encoding == want.encoding
        check_accounted(con, file.split("/")[0], file, want)
    if case.values is not None:
        sql, expected = case.values
        assert con.execute(sql).fetchall() == expected


# ------------------------------------------------------------------------------------------
# The ingest config file: every mistake is one clear error naming the file and the key
# ------------------------------------------------------------------------------------------

CONFIG_ERRORS = [
    (
        "unknown_source",
        "sources:\n  invoices:\n    columns: {}\n",
        "sources.invoices: unknown source 'invoices' (known: accounts, crosswalk, billing",
    ),
    (
        "unknown_contract_column",
        "sources:\n  billing:\n    columns:\n      Betrag: amount_eur\n",
        "sources.billing.columns: 'Betrag' is mapped to 'amount_eur', an unknown contract "
        "column of billing (contract columns: invoice_id, account_id,",
    ),
    (
        "two_columns_to_one",
        "sources:\n  billing:\n    columns:\n      Betrag: amount\n      Total: amount\n",
        "sources.billing.columns: two export columns are mapped to 'amount': 'Betrag' and 'Total'",
    ),
    (
        "unknown_key",
        "sources:\n  billing:\n    column: {Betrag: amount}\n",
        "sources.billing: unknown key(s) column (allowed: columns, encoding, delimiter, preset, "
        "account_match)",
    ),
    (
        "unknown_encoding",
        "sources:\n  billing:\n    encoding: latin-9000\n",
        "sources.billing.encoding: unknown text encoding 'latin-9000'",
    ),
    (
        "bad_delimiter",
        "sources:\n  billing:\n    delimiter: '::'\n",
        "sources.billing.delimiter: '::' is not one of , ; | tab",
    ),
    (
        "account_match_on_accounts",
        "sources:\n  accounts:\n    account_match: salesforce_id\n",
        "sources.accounts.account_match: accounts rows are not matched to accounts",
    ),
    (
        "account_match_not_a_name",
        "sources:\n  billing:\n    account_match: Stripe ID\n",
        "sources.billing.account_match: 'Stripe ID' is not the name of a tool id",
    ),
    ("not_yaml", "sources: [unclosed\n", "not valid YAML: "),
    (
        "top_level_typo",
        "source:\n  billing: {}\n",
        "unknown key(s) source (allowed: version, sources)",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"),
    [c[1:] for c in CONFIG_ERRORS],
    ids=[c[0] for c in CONFIG_ERRORS],
)
def test_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "ingest.yml"
    path.write_text(text)
    with pytest.raises(IngestConfigError) as info:
        load_ingest_config(path, required=True)
    assert str(info.value).startswith(f"{path}: {message}"), str(info.value)


def test_config_file_set_but_missing_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(IngestConfigError, match="the ingest config file does not exist"):
        load_ingest_config(missing, required=True)
    assert load_ingest_config(missing, required=False) == IngestConfig(None)


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[1] / "config" / "ingest.example.yml"
    config = load_ingest_config(example, required=True)
    assert config.source("billing").columns["betrag"] == "amount"
    assert config.source("billing").delimiter == ";"
    assert config.source("accounts").encoding == "cp1252"


# ------------------------------------------------------------------------------------------
# Idempotence: same file twice, corrected file, removed file, changed mapping, late data
# ------------------------------------------------------------------------------------------


def statuses(result) -> list[tuple]:
    return [(f.file, f.status, f.rows_loaded, f.added_range, f.removed_range) for f in result.files]


def test_same_file_twice_changes_nothing(con, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_files(exports, {"billing/jan.csv": csv(BILLING_H, INVOICE, "I2,A1,x,,,,,,")})
    first = ingest_source(con, "billing", exports)
    before = con.execute("select * from raw.billing").fetchall()
    write_files(exports, {"billing/jan.csv": csv(BILLING_H, INVOICE, "I2,A1,x,,,,,,")})  # again
    again = ingest_source(con, "billing", exports)
    assert statuses(first) == [
        ("billing/jan.csv", "loaded", 1, (date(2026, 1, 1), date(2026, 1, 1)), None)
    ]
    assert statuses(again) == [("billing/jan.csv", "skipped_unchanged", 0, None, None)]
    assert con.execute("select * from raw.billing").fetchall() == before
    assert con.execute("select count(*) from ingest_meta.quarantine").fetchone() == (1,)


def test_corrected_file_supersedes_and_reports_only_changed_dates(con, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    rows = [f"I{d},A1,2026-01-{d:02d},2026-02-28,10,EUR,,paid," for d in range(1, 29)]
    write_files(exports, {"billing/jan.csv": csv(BILLING_H, *rows, "I99,A1,2026-01-30,,1,,,paid,")})
    first = ingest_source(con, "billing", exports)
    assert (first.rows_loaded, first.rows_quarantined) == (28, 1)
    # the export is corrected: invoice of the 12th changes amount, the bad row is fixed
    rows[11] = rows[11].replace(",10,", ",15,")
    write_files(
        exports,
        {"billing/jan.csv": csv(BILLING_H, *rows, "I99,A1,2026-01-30,2026-02-28,1,,,paid,")},
    )
    corrected = ingest_source(con, "billing", exports)
    assert statuses(corrected) == [
        (
            "billing/jan.csv",
            "loaded",
            29,
            (date(2026, 1, 12), date(2026, 1, 30)),  # the changed row and the fixed one
            (date(2026, 1, 12), date(2026, 1, 12)),  # the replaced version
        )
    ]
    assert con.execute("select count(*), sum(amount) from raw.billing").fetchone() == (29, 286.0)
    assert con.execute("select count(*) from ingest_meta.quarantine").fetchone() == (0,)
    assert con.execute(
        "select added_from, added_to, removed_from, removed_to from ingest_meta.load_log "
        "where status = 'loaded' order by finished_at desc limit 1"
    ).fetchone() == (date(2026, 1, 12), date(2026, 1, 30), date(2026, 1, 12), date(2026, 1, 12))


def test_removed_file_takes_its_rows(con, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_files(
        exports,
        {
            "usage/jan.csv": csv(USAGE_H, EVENT, "A1,2026-01-09,u2,api,1,"),
            "usage/feb.csv": csv(USAGE_H, "A1,2026-02-01,u1,api,1,"),
        },
    )
    ingest_source(con, "usage", exports)
    (exports / "usage" / "jan.csv").unlink()
    result = ingest_source(con, "usage", exports)
    assert statuses(result) == [
        ("usage/feb.csv", "skipped_unchanged", 0, None, None),
        ("usage/jan.csv", "removed", 0, None, (date(2026, 1, 4), date(2026, 1, 9))),
    ]
    assert con.execute("select activity_date from raw.usage").fetchall() == [(date(2026, 2, 1),)]


def test_broken_new_version_keeps_the_last_good_rows(con, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_files(exports, {"billing/jan.csv": csv(BILLING_H, INVOICE)})
    ingest_source(con, "billing", exports)
    write_files(exports, {"billing/jan.csv": csv(BILLING_H)})  # the export job wrote nothing
    [f] = ingest_source(con, "billing", exports).files
    assert (f.status, f.error) == (
        "error",
        "billing/jan.csv: has a header line but no data rows (nothing loaded)",
    )
    assert con.execute("select invoice_id from raw.billing").fetchall() == [("I1",)]
    assert f.changed_from is None


def test_changed_mapping_reloads_the_files(con, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    header = "ticket_id,account_id,opened_at,Prio"
    write_files(exports, {"support/t.csv": csv(header, "T1,A1,2026-01-02T10:00:00Z,urgent")})
    plain = parse_ingest_config({"sources": {"support": {}}}, tmp_path / "ingest.yml")
    mapped = parse_ingest_config(
        {"sources": {"support": {"columns": {"prio": "priority"}}}}, tmp_path / "ingest.yml"
    )
    [f] = ingest_source(con, "support", exports, config=plain).files
    assert f.status == "loaded"
    assert con.execute("select priority, prio from raw.support").fetchall() == [(None, "urgent")]
    [f] = ingest_source(con, "support", exports, config=plain).files
    assert f.status == "skipped_unchanged"
    [f] = ingest_source(con, "support", exports, config=mapped).files
    assert (f.status, f.added_range, f.removed_range) == (
        "loaded",
        (date(2026, 1, 2), date(2026, 1, 2)),
        (date(2026, 1, 2), date(2026, 1, 2)),
    )
    assert con.execute("select priority, prio from raw.support").fetchall() == [("urgent", None)]
    [f] = ingest_source(con, "support", exports, config=mapped).files
    assert f.status == "skipped_unchanged"


def test_late_file_reports_its_dates(con, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_files(exports, {"usage/2026-03.csv": csv(USAGE_H, "A1,2026-03-01,u1,api,1,")})
    ingest_source(con, "usage", exports)
    write_files(
        exports,
        {
            "usage/late-2026-02.csv": csv(
                USAGE_H, "A1,2026-02-10,u1,api,1,", "A1,2026-02-12,u2,api,2,"
            )
        },
    )
    result = ingest_source(con, "usage", exports)
    assert statuses(result) == [
        ("usage/2026-03.csv", "skipped_unchanged", 0, None, None),
        ("usage/late-2026-02.csv", "loaded", 2, (date(2026, 2, 10), date(2026, 2, 12)), None),
    ]
    # accounts have no time column: a changed accounts file does not name a date
    write_files(exports, {"accounts/a.csv": csv(ACCOUNTS_H, ACCOUNT)})
    [f] = ingest_source(con, "accounts", exports).files
    assert (f.status, f.changed_from) == ("loaded", None)


# ------------------------------------------------------------------------------------------
# The whole job: faults injected by hand change nothing in the marts of the good data
# ------------------------------------------------------------------------------------------


def inject_faults(exports: Path) -> dict[str, tuple[int, int, int]]:
    """Bad rows into the good files and unreadable files beside them.

    Returns the expected (read, loaded, quarantined) of each file changed or added."""

    def append(rel: str, *lines: str) -> None:
        path = exports / rel
        path.write_text(path.read_text() + "".join(line + "\n" for line in lines))

    # accounts: an older duplicate of A first (the last row of a key wins), a missing signup
    accounts = exports / "accounts" / "accounts.csv"
    header, *body = accounts.read_text().splitlines()
    older_a = body[0].replace("Acme", "Acme (old)")
    accounts.write_text("\n".join([header, older_a, *body, "E,Echo,retail,5,smb,,,,,,,,,"]) + "\n")
    append(
        "support/tickets.csv",
        "TX1,A,2026-03-20T10:00:00Z,2026-03-19T10:00:00Z,normal,question,,,",  # closed first
        "TX2,A,2026-03-20T10:00:00Z,,normal,question,0,,",  # csat 0
        "TX3,NOBODY,2026-03-20T10:00:00Z,,normal,question,,,",  # an account not exported
    )
    with (exports / "survey" / "responses.ndjson").open("a") as fh:
        for score, kind in ((11, "nps"), (7.5, "nps"), (0, "csat")):
            fh.write(
                json.dumps(
                    {
                        "response_id": f"SX{score}{kind}",
                        "account_id": "A",
                        "responded_at": "2026-03-02T12:00:00Z",
                        "survey_type": kind,
                        "score": score,
                    }
                )
                + "\n"
            )
    append(
        "csm/assessments.csv",
        "C,2026-03-01 09:00:00,9,likely,Bob,,",  # sentiment 9
        "C,not a date,3,likely,Bob,,",
    )
    append(
        "outcomes/outcomes.csv",
        "A,2026-03-20,paused,,",
        "B,2099-01-01,churned,,",  # after the day it was loaded
    )
    # billing is gzip: a negative amount, a due date before the issue date
    with gzip.open(exports / "billing" / "invoices.csv.gz", "rt") as fh:
        billing = fh.read()
    with gzip.open(exports / "billing" / "invoices.csv.gz", "wt") as fh:
        fh.write(
            billing
            + "XA,A,2026-03-05,2026-04-04,-100,USD,,open,\n"
            + "XB,A,2026-03-05,2026-03-01,100,USD,,open,\n"
        )
    # usage: a second Parquet file with a negative count and a missing feature
    pq.write_table(
        pa.Table.from_pylist(
            [
                {
                    "account_id": "A",
                    "activity_date": "2026-03-11",
                    "feature": "x",
                    "event_count": -3,
                },
                {
                    "account_id": "C",
                    "activity_date": "2026-03-11",
                    "feature": None,
                    "event_count": 1,
                },
            ]
        ),
        exports / "usage" / "bad_rows.parquet",
    )
    # files that cannot be read at all
    (exports / "billing" / "truncated.csv.gz").write_bytes(truncated_gzip())
    (exports / "support" / "empty.csv").write_bytes(b"")
    (exports / "survey" / "broken.ndjson").write_text('{"response_id": "S9",\n')
    (exports / "usage" / "junk.parquet").write_bytes(os.urandom(300))
    (exports / "csm" / "renamed.csv").write_text("Account,When,Mood\nA,2026-03-01,4\n")
    (exports / "outcomes" / "binary.csv").write_bytes(bytes(range(256)))
    return {
        "accounts/accounts.csv": (6, 4, 2),
        "billing/invoices.csv.gz": (12, 9, 3),
        "support/tickets.csv": (5, 2, 3),
        "survey/responses.ndjson": (8, 5, 3),
        "usage/usage.parquet": (27, 27, 0),
        "usage/bad_rows.parquet": (2, 0, 2),
        "csm/assessments.csv": (4, 2, 2),
        "outcomes/outcomes.csv": (3, 1, 2),
    }


BROKEN_FILES = {
    "billing/truncated.csv.gz",
    "support/empty.csv",
    "survey/broken.ndjson",
    "usage/junk.parquet",
    "csm/renamed.csv",
    "outcomes/binary.csv",
}


def test_faulty_exports_give_the_marts_of_the_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, e2e_settings: Settings
) -> None:
    settings = Settings(
        exports_dir=tmp_path / "exports",
        serving_path=tmp_path / "serving.duckdb",
        warehouse_path=tmp_path / "warehouse.duckdb",
        preset="hbr",
    )
    write_exports(settings.exports_dir)
    expected = inject_faults(settings.exports_dir)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("HEALTHMART_REPORT_PATH", str(tmp_path / "health_report.html"))
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        assert run(settings, accounts=0, months=0, seed=0) == 0
    # one line per unreadable file, naming it
    printed = err.getvalue()
    assert (
        "6 files could not be loaded (the other files were; see ingest_meta.load_log):" in printed
    )
    for rel in BROKEN_FILES:
        assert f"  {rel}: " in printed

    con = duckdb.connect(str(settings.serving_path), read_only=True)
    log = {
        file: (status, read, loaded, quarantined, error, by_rule)
        for file, status, read, loaded, quarantined, error, by_rule in con.execute(
            "select file, status, rows_read, rows_loaded, rows_quarantined, error, "
            "quarantined_by_rule from ingest_meta.load_log"
        ).fetchall()
    }
    in_quarantine = dict(
        con.execute("select file, count(*) from ingest_meta.quarantine group by 1").fetchall()
    )
    quarantined_rows = {
        (file, row): (rule, detail)
        for file, row, rule, detail in con.execute(
            "select file, row_number, rule, detail from ingest_meta.quarantine"
        ).fetchall()
    }
    con.close()
    assert set(log) == set(expected) | BROKEN_FILES
    for file, (read, loaded, quarantined) in expected.items():
        assert log[file][:4] == ("loaded", read, loaded, quarantined), file
        assert in_quarantine.get(file, 0) == quarantined, file
    for file in BROKEN_FILES:
        assert log[file][0] == "error" and log[file][4].startswith(f"{file}: ")
    assert log["csm/renamed.csv"][4].startswith(
        "csm/renamed.csv: required columns 'account_id', 'assessed_at', 'sentiment' are missing"
    )
    # one ticket of an unknown account and one outcome in the future are quarantined with
    # their rule (each used to fail a blocking check and stop the day); the run says so
    assert quarantined_rows[("support/tickets.csv", 5)] == (
        "unknown_account",
        "account_id 'NOBODY' is not in the accounts export",
    )
    load_day = datetime.now(UTC).date()
    assert quarantined_rows[("outcomes/outcomes.csv", 3)] == (
        "date_in_future",
        f"event_date=2099-01-01 is after {load_day + timedelta(days=1)} (the load date plus "
        "the tolerance)",
    )
    assert json.loads(log["support/tickets.csv"][5]) == {
        "below_min:csat": 1,
        "closed_before_opened": 1,
        "unknown_account": 1,
    }
    assert json.loads(log["outcomes/outcomes.csv"][5]) == {
        "date_in_future": 1,
        "not_accepted:event_type": 1,
    }
    (summary,) = [line for line in out.getvalue().splitlines() if "quarantined" in line]
    assert summary.startswith("17 rows quarantined (see ingest_meta.quarantine): ")
    assert {"date_in_future 1", "unknown_account 1"} <= set(
        summary.split(": ", 1)[1].rstrip(".").split(", ")
    )
    # every row read is loaded or quarantined; the loaded ones are exactly the clean data's
    assert sum(v[0] for v in expected.values()) == 67
    assert sum(v[1] for v in expected.values()) == 50
    assert sum(v[2] for v in expected.values()) == 17
    assert mart_differences(settings.serving_path, e2e_settings.serving_path) == {}


def test_config_setting_and_run_stops_on_an_invalid_config(
    isolated_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "mapping.yml"
    bad.write_text("sources:\n  billing:\n    columns:\n      Betrag: amount\n      Sum: amount\n")
    settings = Settings.from_env({"HEALTHMART_INGEST_CONFIG": str(bad)})
    assert settings.ingest_config_location() == (bad, True)
    assert Settings.from_env({}).ingest_config_location()[1] is False
    assert run(replace(isolated_settings, ingest_config=bad), accounts=0, months=0, seed=0) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f"The ingest config is invalid: {bad}: sources.billing.columns: two export columns are "
        "mapped to 'amount': 'Betrag' and 'Sum'"
    )
    # it stopped before anything: no sample exports, no warehouse
    assert not isolated_settings.exports_dir.exists()
    assert not isolated_settings.warehouse_path.exists()
