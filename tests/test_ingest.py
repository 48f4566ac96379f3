"""Tests for healthmart.defs.ingest.load: export files -> raw tables, quarantine and load log."""

from __future__ import annotations

import gzip
import json
import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from healthmart.defs.ingest.load import ingest_all, ingest_source
from healthmart.defs.ingest.results import SourceResult

BILLING_HEADER = (
    "invoice_id,account_id,issued_date,due_date,amount,currency,paid_date,status,updated_at"
)


@pytest.fixture
def con(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    c.execute("SET enable_progress_bar = false")
    yield c
    c.close()


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    d = tmp_path / "exports"
    d.mkdir()
    return d


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def assert_accounted(con, result: SourceResult) -> None:
    """rows_read = loaded + quarantined, and the tables agree with the result."""
    for f in result.files:
        if f.status != "loaded":
            continue
        assert f.rows_read == f.rows_loaded + f.rows_quarantined, f
        n_raw = rows(con, f"SELECT count(*) FROM raw.{f.source} WHERE _source_file = ?", [f.file])
        n_q = rows(
            con,
            "SELECT count(*) FROM ingest_meta.quarantine WHERE source = ? AND file = ?",
            [f.source, f.file],
        )
        assert n_raw[0][0] == f.rows_loaded, f
        assert n_q[0][0] == f.rows_quarantined, f
        log = rows(
            con,
            "SELECT rows_read, rows_loaded, rows_quarantined FROM ingest_meta.load_log "
            "WHERE source = ? AND file = ? AND status = 'loaded' ORDER BY finished_at DESC LIMIT 1",
            [f.source, f.file],
        )
        assert log == [(f.rows_read, f.rows_loaded, f.rows_quarantined)]


# ------------------------------------------------------------------------------------------
# Typed loading, rules, quarantine
# ------------------------------------------------------------------------------------------


def test_billing_csv_typed_values_and_quarantine(con, exports):
    write(
        exports / "billing" / "invoices_2026-01.csv",
        BILLING_HEADER
        + "\n"
        + "\n".join(
            [
                "I1,A1,2026-01-01,2026-01-31,100.5,EUR,2026-01-20,PAID,2026-01-02T10:00:00+02:00",
                "I2,A1,2026-01-01,2025-12-31,10,EUR,,paid,",  # due before issued
                "I3,,2026-01-01,2026-01-31,10,EUR,,paid,",  # required account_id empty
                'I4,A2,2026-01-01,2026-01-31,"12,x",EUR,,paid,',  # bad number
                "I5,A2,2026-01-01,2026-01-31,5,EUR,,pending,",  # status not accepted
                "I6,A2,2026-13-01,2026-01-31,5,EUR,,paid,",  # bad date
                "I7,A2,2026-01-01,2026-01-31,-5,EUR,,paid,",  # negative amount
                "  I8 , A3 ,2026-02-01,2026-02-28, 7 ,  ,,Open,2026-02-01 09:30:00",
                "I9,A3,2026-02-01,2026-02-28,1,EUR,,void,",  # first I9: superseded below
                "I9,A3,2026-02-01,2026-02-28,2,EUR,,void,",  # last I9 wins
            ]
        )
        + "\n",
    )
    result = ingest_source(con, "billing", exports)
    [f] = result.files
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("loaded", 10, 3, 7)
    assert f.file == "billing/invoices_2026-01.csv"
    assert result.errors == []
    assert_accounted(con, result)

    loaded = rows(
        con,
        "SELECT invoice_id, account_id, issued_date, due_date, amount, currency, paid_date, "
        "status, updated_at, _source_file, _source_row FROM raw.billing ORDER BY _source_row",
    )
    assert loaded == [
        (
            "I1",
            "A1",
            date(2026, 1, 1),
            date(2026, 1, 31),
            100.5,
            "EUR",
            date(2026, 1, 20),
            "paid",
            datetime(2026, 1, 2, 8, 0),  # +02:00 -> UTC
            "billing/invoices_2026-01.csv",
            1,
        ),
        (
            "I8",
            "A3",
            date(2026, 2, 1),
            date(2026, 2, 28),
            7.0,
            None,  # blank after trim -> NULL
            None,
            "open",
            datetime(2026, 2, 1, 9, 30),
            "billing/invoices_2026-01.csv",
            8,
        ),
        (
            "I9",
            "A3",
            date(2026, 2, 1),
            date(2026, 2, 28),
            2.0,
            "EUR",
            None,
            "void",
            None,
            "billing/invoices_2026-01.csv",
            10,
        ),
    ]
    q = rows(
        con,
        "SELECT row_number, rule, detail FROM ingest_meta.quarantine ORDER BY row_number",
    )
    assert q == [
        (
            2,
            "due_date_before_issued_date",
            "row rule due_date_before_issued_date: due_date < issued_date",
        ),
        (3, "required_missing:account_id", "account_id is empty"),
        (4, "invalid_type:amount", "amount='12,x' is not a DOUBLE"),
        (
            5,
            "not_accepted:status",
            "status='pending' is not one of: paid, open, void, failed, refunded",
        ),
        (
            6,
            "invalid_type:issued_date",
            "issued_date='2026-13-01' is not a DATE (expected YYYY-MM-DD)",
        ),
        (7, "below_min:amount", "amount=-5 is below the minimum 0"),
        (
            9,
            "duplicate_key_in_file",
            "duplicate key (invoice_id=I9) in this file; the last row (10) wins",
        ),
    ]
    record = json.loads(
        rows(con, "SELECT record FROM ingest_meta.quarantine WHERE row_number = 4")[0][0]
    )
    assert record["invoice_id"] == "I4" and record["amount"] == "12,x"
    # lineage
    (h, mod, la) = rows(
        con, "SELECT DISTINCT _file_hash, _file_modified_at, _loaded_at FROM raw.billing"
    )[0]
    assert len(h) == 64 and mod is not None and la is not None
    assert rows(con, "SELECT file, file_hash, rows_loaded FROM ingest_meta.files") == [
        ("billing/invoices_2026-01.csv", h, 3)
    ]


def test_survey_and_usage_rules(con, exports):
    write(
        exports / "survey" / "responses.csv",
        "response_id,account_id,responded_at,survey_type,score,respondent_role,comment\n"
        "R1,A1,2026-01-05T10:00:00Z,NPS,9,executive,great\n"
        "R2,A1,2026-01-05T10:00:00Z,nps,11,,\n"  # NPS 11 > max 10
        "R3,A1,2026-01-05T10:00:00Z,csat,7,,\n"  # csat out of 1-5
        "R4,A1,2026-01-05T10:00:00Z,nps,7.5,,\n"  # NPS not integer
        "R5,A1,2026-01-05T10:00:00Z,nps,8,ceo,\n"  # role not accepted
        "R6,A1,not a time,nps,8,,\n",  # bad timestamp
    )
    write(
        exports / "usage" / "usage.csv",
        "account_id,activity_date,user_id,feature,event_count,minutes\n"
        "A1,2026-01-05,u1,reports,3,1.5\n"
        "A1,2026-01-05,u1,export,-1,0\n"  # negative event_count
        "A1,2026-01-05,u1,search,1.5,0\n"  # not an integer
        "A1,2026-01-05,,reports,4,\n"  # account-level row, no user
        "A1,2026-01-05 00:00:00,,reports,5,\n"  # same key (NULL user): last wins
        "A1,2026-01-06,u2,reports,2,\n",
    )
    res = ingest_all(con, exports, sources=["survey", "usage"])
    survey, usage = res["survey"], res["usage"]
    assert (survey.rows_read, survey.rows_loaded, survey.rows_quarantined) == (6, 1, 5)
    assert (usage.rows_read, usage.rows_loaded, usage.rows_quarantined) == (6, 3, 3)
    assert_accounted(con, survey)
    assert_accounted(con, usage)
    assert rows(con, "SELECT response_id, survey_type, score, responded_at FROM raw.survey") == [
        ("R1", "nps", 9.0, datetime(2026, 1, 5, 10, 0))
    ]
    q = rows(
        con,
        "SELECT source, row_number, rule FROM ingest_meta.quarantine ORDER BY source, row_number",
    )
    assert q == [
        ("survey", 2, "above_max:score"),
        ("survey", 3, "csat_score_out_of_range"),
        ("survey", 4, "nps_score_not_integer"),
        ("survey", 5, "not_accepted:respondent_role"),
        ("survey", 6, "invalid_type:responded_at"),
        ("usage", 2, "below_min:event_count"),
        ("usage", 3, "invalid_type:event_count"),
        ("usage", 4, "duplicate_key_in_file"),
    ]
    assert rows(
        con,
        "SELECT activity_date, user_id, feature, event_count, minutes, _source_row "
        "FROM raw.usage ORDER BY _source_row",
    ) == [
        (date(2026, 1, 5), "u1", "reports", 3, 1.5, 1),
        (date(2026, 1, 5), None, "reports", 5, None, 5),
        (date(2026, 1, 6), "u2", "reports", 2, None, 6),
    ]


def test_all_formats_load_with_typed_values(con, exports, tmp_path):
    header = "account_id,activity_date,user_id,feature,event_count,minutes\n"
    write(exports / "usage" / "a.csv", header + "A1,2026-01-01,u1,reports,1,1.5\n")
    gz = exports / "usage" / "b.csv.gz"
    gz.write_bytes(gzip.compress((header + "A2,2026-01-02,u2,reports,2,2.5\n").encode()))
    con.execute(
        f"""COPY (SELECT 'A3' AS account_id, DATE '2026-01-03' AS activity_date, 'u3' AS user_id,
                 'reports' AS feature, 3::BIGINT AS event_count, 3.5::DOUBLE AS minutes,
                 'extra!' AS Source_System)
            TO '{exports / "usage" / "c.parquet"}' (FORMAT parquet)"""
    )
    write(
        exports / "usage" / "d.ndjson",
        json.dumps(
            {
                "account_id": "A4",
                "activity_date": "2026-01-04",
                "user_id": "u4",
                "feature": "reports",
                "event_count": 4,
                "minutes": 4.5,
            }
        )
        + "\n",
    )
    write(
        exports / "usage" / "nested" / "e.jsonl",
        '{"account_id": "A5", "activity_date": "2026-01-05", "feature": "api", '
        '"event_count": "5"}\n',
    )
    # ignored: hidden, underscore-prefixed, unknown suffix
    write(exports / "usage" / ".hidden.csv", header + "X,2026-01-01,u,f,1,1\n")
    write(exports / "usage" / "_staging" / "f.csv", header + "X,2026-01-01,u,f,1,1\n")
    write(exports / "usage" / "notes.txt", "hello")

    result = ingest_source(con, "usage", exports)
    assert [f.file for f in result.files] == [
        "usage/a.csv",
        "usage/b.csv.gz",
        "usage/c.parquet",
        "usage/d.ndjson",
        "usage/nested/e.jsonl",
    ]
    assert [f.status for f in result.files] == ["loaded"] * 5
    assert result.rows_loaded == 5 and result.rows_quarantined == 0
    assert_accounted(con, result)
    assert rows(
        con,
        "SELECT account_id, activity_date, user_id, feature, event_count, minutes, _source_row, "
        "source_system FROM raw.usage ORDER BY account_id",
    ) == [
        ("A1", date(2026, 1, 1), "u1", "reports", 1, 1.5, 1, None),
        ("A2", date(2026, 1, 2), "u2", "reports", 2, 2.5, 1, None),
        ("A3", date(2026, 1, 3), "u3", "reports", 3, 3.5, 1, "extra!"),
        ("A4", date(2026, 1, 4), "u4", "reports", 4, 4.5, 1, None),
        ("A5", date(2026, 1, 5), None, "api", 5, None, 1, None),
    ]
    types = dict(
        rows(
            con,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = 'usage'",
        )
    )
    assert types["activity_date"] == "DATE" and types["event_count"] == "BIGINT"
    assert types["source_system"] == "VARCHAR" and types["_source_row"] == "BIGINT"


def test_timestamps_zones_and_row_rule(con, exports):
    write(
        exports / "support" / "tickets.ndjson",
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "ticket_id": "T1",
                    "account_id": "A1",
                    "opened_at": "2026-01-05T10:00:00+02:00",
                    "closed_at": "2026-01-05 12:00:00",
                    "priority": "HIGH",
                    "csat": 5,
                },
                {
                    "ticket_id": "T2",
                    "account_id": "A1",
                    "opened_at": "2026-01-05T10:00:00Z",
                    "closed_at": "2026-01-05T09:00:00Z",
                },  # closed before opened
                {
                    "ticket_id": "T3",
                    "account_id": "A1",
                    "opened_at": "2026-01-05 10:00:00-05:00",
                    "csat": 6,
                },  # csat above 5
                {"ticket_id": "T4", "account_id": "A1", "opened_at": "2026-01-05T10:00:00.250"},
            ]
        )
        + "\n",
    )
    # the session time zone must not change how zone-less timestamps are read (they are UTC)
    con.execute("SET TimeZone = 'America/New_York'")
    result = ingest_source(con, "support", exports)
    assert rows(con, "SELECT current_setting('TimeZone')") == [("America/New_York",)]
    assert_accounted(con, result)
    assert rows(
        con, "SELECT ticket_id, opened_at, closed_at, priority, csat FROM raw.support ORDER BY 1"
    ) == [
        ("T1", datetime(2026, 1, 5, 8, 0), datetime(2026, 1, 5, 12, 0), "high", 5.0),
        ("T4", datetime(2026, 1, 5, 10, 0, 0, 250000), None, None, None),
    ]
    assert rows(con, "SELECT row_number, rule FROM ingest_meta.quarantine ORDER BY 1") == [
        (2, "closed_before_opened"),
        (3, "above_max:csat"),
    ]


def test_column_mapping_and_extra_columns(con, exports):
    write(
        exports / "accounts" / "crm.csv",
        " Customer_ID ,Account_Name,Signup_Date,EMPLOYEES,Tier\n"
        "C1,Acme,2025-03-01,120,gold\n"
        "C2,Beta,2025-04-01T08:00:00,,silver\n",
    )
    result = ingest_source(con, "accounts", exports, column_mapping={"customer_id": "account_id"})
    [f] = result.files
    assert f.status == "loaded" and f.rows_loaded == 2, f
    assert rows(
        con,
        "SELECT account_id, account_name, signup_date, employees, tier, industry "
        "FROM raw.accounts ORDER BY 1",
    ) == [
        ("C1", "Acme", date(2025, 3, 1), 120, "gold", None),
        ("C2", "Beta", date(2025, 4, 1), None, "silver", None),
    ]
    with pytest.raises(ValueError, match="unknown contract column"):
        ingest_source(con, "accounts", exports, column_mapping={"customer_id": "acount_id"})

    # unchanged file, same mapping: skipped; another mapping reloads it (or force=True)
    [f] = ingest_source(
        con, "accounts", exports, column_mapping={"customer_id": "account_id"}
    ).files
    assert f.status == "skipped_unchanged"
    mapping = {"customer_id": "account_id", "tier": "segment"}
    [f] = ingest_source(con, "accounts", exports, column_mapping=mapping).files
    assert f.status == "loaded"
    [f] = ingest_source(con, "accounts", exports, column_mapping=mapping).files
    assert f.status == "skipped_unchanged"
    [f] = ingest_source(con, "accounts", exports, column_mapping=mapping, force=True).files
    assert f.status == "loaded"
    assert rows(con, "SELECT account_id, segment, tier FROM raw.accounts ORDER BY 1") == [
        ("C1", "gold", None),
        ("C2", "silver", None),
    ]


# ------------------------------------------------------------------------------------------
# Idempotence: unchanged, corrected, removed
# ------------------------------------------------------------------------------------------


def test_unchanged_corrected_and_removed_files(con, exports):
    jan = write(
        exports / "billing" / "jan.csv",
        BILLING_HEADER + "\nI1,A1,2026-01-01,2026-01-31,10,EUR,,paid,\n"
        "I2,A1,2026-01-01,2026-01-31,oops,EUR,,paid,\n",
    )
    write(
        exports / "billing" / "feb.csv",
        BILLING_HEADER + "\nI3,A1,2026-02-01,2026-02-28,30,EUR,,open,\n",
    )
    first = ingest_source(con, "billing", exports)
    assert [(f.status, f.rows_loaded, f.rows_quarantined) for f in first.files] == [
        ("loaded", 1, 0),
        ("loaded", 1, 1),
    ]

    again = ingest_source(con, "billing", exports)
    assert [f.status for f in again.files] == ["skipped_unchanged", "skipped_unchanged"]
    assert rows(con, "SELECT count(*) FROM raw.billing") == [(2,)]

    # corrected January file supersedes the old one: old raw + quarantine rows are gone
    jan.write_text(
        BILLING_HEADER + "\nI1,A1,2026-01-01,2026-01-31,11,EUR,,paid,\n"
        "I2,A1,2026-01-01,2026-01-31,20,EUR,,paid,\n"
        "I4,A1,2026-01-01,2026-01-31,40,EUR,,paid,\n"
    )
    corrected = ingest_source(con, "billing", exports)
    assert [(f.file, f.status, f.rows_loaded) for f in corrected.files] == [
        ("billing/feb.csv", "skipped_unchanged", 0),
        ("billing/jan.csv", "loaded", 3),
    ]
    assert rows(
        con,
        "SELECT invoice_id, amount FROM raw.billing WHERE _source_file = 'billing/jan.csv' "
        "ORDER BY 1",
    ) == [("I1", 11.0), ("I2", 20.0), ("I4", 40.0)]
    assert rows(con, "SELECT count(*) FROM ingest_meta.quarantine") == [(0,)]

    # removed file: its rows leave raw
    jan.unlink()
    removed = ingest_source(con, "billing", exports)
    assert [(f.file, f.status) for f in removed.files] == [
        ("billing/feb.csv", "skipped_unchanged"),
        ("billing/jan.csv", "removed"),
    ]
    assert rows(con, "SELECT invoice_id FROM raw.billing") == [("I3",)]
    assert rows(con, "SELECT file FROM ingest_meta.files") == [("billing/feb.csv",)]
    assert rows(con, "SELECT status, count(*) FROM ingest_meta.load_log GROUP BY 1 ORDER BY 1") == [
        ("loaded", 3),
        ("removed", 1),
        ("skipped_unchanged", 4),
    ]

    # a missing source folder is not an error
    assert ingest_source(con, "csm", exports).files == ()


def test_broken_new_version_keeps_last_good_rows(con, exports):
    f = write(
        exports / "billing" / "jan.csv",
        BILLING_HEADER + "\nI1,A1,2026-01-01,2026-01-31,10,EUR,,paid,\n",
    )
    ingest_source(con, "billing", exports)
    f.write_bytes(b"\x00\x01\x02 not a csv \xff\xfe")
    [r] = ingest_source(con, "billing", exports).files
    assert r.status == "error" and r.error.startswith("billing/jan.csv: ")
    assert rows(con, "SELECT invoice_id FROM raw.billing") == [("I1",)]


# ------------------------------------------------------------------------------------------
# Encodings
# ------------------------------------------------------------------------------------------


def test_latin1_and_cp1252_csv(con, exports):
    header = "account_id,account_name,signup_date\n"
    write(exports / "accounts" / "a_latin1.csv", header + "A1,Café Müller,2025-01-01\n", "latin-1")
    write(exports / "accounts" / "b_cp1252.csv", header + "A2,“Smart” €uro,2025-01-01\n", "cp1252")
    write(exports / "accounts" / "c_utf8.csv", header + "A3,Ünïcödé,2025-01-01\n")
    result = ingest_source(con, "accounts", exports)
    assert [(f.status, f.encoding) for f in result.files] == [
        ("loaded", "latin-1"),
        ("loaded", "cp1252"),
        ("loaded", "utf-8"),
    ]
    assert rows(con, "SELECT account_id, account_name FROM raw.accounts ORDER BY 1") == [
        ("A1", "Café Müller"),
        ("A2", "“Smart” €uro"),
        ("A3", "Ünïcödé"),
    ]
    assert rows(con, "SELECT encoding FROM ingest_meta.load_log ORDER BY file") == [
        ("latin-1",),
        ("cp1252",),
        ("utf-8",),
    ]


def test_explicit_encoding(con, exports):
    write(
        exports / "accounts" / "a.csv",
        "account_id,account_name,signup_date\nA1,Señor Ñandú,2025-01-01\n",
        "latin-1",
    )
    [f] = ingest_source(con, "accounts", exports, encoding="ISO-8859-1").files
    assert (f.status, f.encoding) == ("loaded", "latin-1")
    assert rows(con, "SELECT account_name FROM raw.accounts") == [("Señor Ñandú",)]


# ------------------------------------------------------------------------------------------
# Unreadable files and malformed lines
# ------------------------------------------------------------------------------------------


def test_unreadable_files_error_and_the_rest_loads(con, exports):
    good = BILLING_HEADER + "\nI1,A1,2026-01-01,2026-01-31,10,EUR,,paid,\n"
    write(exports / "billing" / "a_good.csv", good)
    data = gzip.compress((good * 2000).encode())
    (exports / "billing" / "b_truncated.csv.gz").write_bytes(data[: len(data) // 2])
    (exports / "billing" / "c_empty.csv").write_bytes(b"")
    write(
        exports / "billing" / "d_missing.csv",
        "invoice_id,account_id,issued_date,due_date,currency,status\nI9,A1,2026-01-01,"
        "2026-01-31,EUR,paid\n",
    )
    (exports / "billing" / "e_junk.csv").write_bytes(os.urandom(512) + b"\x00\x00")
    (exports / "billing" / "f_junk.parquet").write_bytes(b"PAR1 this is not parquet")
    write(exports / "billing" / "g_header_only.csv", BILLING_HEADER + "\n")
    write(exports / "billing" / "h_bad.ndjson", '{"invoice_id": "I1", \n')
    write(
        exports / "billing" / "i_good.ndjson",
        json.dumps(
            {
                "invoice_id": "I2",
                "account_id": "A1",
                "issued_date": "2026-01-01",
                "due_date": "2026-01-31",
                "amount": 5,
                "status": "open",
            }
        )
        + "\n",
    )

    result = ingest_source(con, "billing", exports)
    by_file = {f.file.split("/")[1]: f for f in result.files}
    assert {k: v.status for k, v in by_file.items()} == {
        "a_good.csv": "loaded",
        "b_truncated.csv.gz": "error",
        "c_empty.csv": "error",
        "d_missing.csv": "error",
        "e_junk.csv": "error",
        "f_junk.parquet": "error",
        "g_header_only.csv": "error",
        "h_bad.ndjson": "error",
        "i_good.ndjson": "loaded",
    }
    for name, f in by_file.items():
        if f.status == "error":
            assert f.error.startswith(f"billing/{name}: "), f.error
            assert "\n" not in f.error
    assert "gzip" in by_file["b_truncated.csv.gz"].error.lower()
    assert by_file["c_empty.csv"].error == "billing/c_empty.csv: file is empty (0 bytes)"
    assert by_file["d_missing.csv"].error == (
        "billing/d_missing.csv: required column 'amount' is missing (found columns: "
        "invoice_id, account_id, issued_date, due_date, currency, status); if the export "
        "names it differently, map it in the ingest config (HEALTHMART_INGEST_CONFIG) under "
        "sources.billing.columns"
    )
    assert "cannot be read as CSV" in by_file["e_junk.csv"].error
    assert "cannot be read as Parquet" in by_file["f_junk.parquet"].error
    assert "cannot be read as NDJSON" in by_file["h_bad.ndjson"].error
    assert by_file["g_header_only.csv"].error == (
        "billing/g_header_only.csv: has a header line but no data rows (nothing loaded)"
    )
    assert len(result.errors) == 7
    assert rows(con, "SELECT invoice_id FROM raw.billing ORDER BY 1") == [("I1",), ("I2",)]
    assert_accounted(con, result)
    log = rows(con, "SELECT file, status, error IS NOT NULL FROM ingest_meta.load_log ORDER BY 1")
    assert [r[1] for r in log] == [by_file[r[0].split("/")[1]].status for r in log]
    assert all(r[2] == (r[1] == "error") for r in log)
    # nothing half-loaded from the failed files
    assert rows(con, "SELECT DISTINCT _source_file FROM raw.billing ORDER BY 1") == [
        ("billing/a_good.csv",),
        ("billing/i_good.ndjson",),
    ]


def test_malformed_csv_lines_are_quarantined_with_row_numbers(con, exports):
    write(
        exports / "billing" / "ragged.csv",
        BILLING_HEADER
        + "\n"
        + "I1,A1,2026-01-01,2026-01-31,10,EUR,,paid,\n"
        + "I2,A1,2026-01-01,2026-01-31,10,EUR,,paid,,extra,fields\n"  # too many columns
        + 'I3,A1,2026-01-01,2026-01-31,10,"E\nUR",,paid,\n'  # quoted newline
        + "I4,A1,2026-01-01\n"  # too few columns
        + "I5,A1,2026-01-01,2026-01-31,10,EUR,,paid,\n",
    )
    [f] = ingest_source(con, "billing", exports).files
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("loaded", 5, 3, 2), f
    assert rows(con, "SELECT invoice_id, _source_row FROM raw.billing ORDER BY 2") == [
        ("I1", 1),
        ("I3", 3),
        ("I5", 5),
    ]
    assert rows(con, "SELECT row_number, rule FROM ingest_meta.quarantine ORDER BY 1") == [
        (2, "malformed_row"),
        (4, "malformed_row"),
    ]
