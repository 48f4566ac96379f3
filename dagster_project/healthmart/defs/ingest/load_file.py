"""Loading one file inside a transaction: raw rows, quarantine and duplicate keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from healthmart.defs.ingest.cast_sql import Checked, Plan, checked_sql
from healthmart.defs.ingest.matching import AccountRules
from healthmart.defs.ingest.results import (
    DUPLICATE_RULE,
    LINEAGE_COLUMNS,
    MALFORMED_RULE,
    NOT_DATA_RULE,
    Retry,
)
from healthmart.defs.ingest.sql import qi, ql


@dataclass(frozen=True)
class Counts:
    """What loading one file did. read = loaded + quarantined; skipped: rows its preset says are
    not data; written: rows written to raw (events aggregate: fewer rows than events loaded)."""

    read: int
    loaded: int
    quarantined: int
    skipped: int = 0
    written: int | None = None


@dataclass
class FileInfo:
    path: Path
    rel: str
    file_hash: str
    size: int
    mtime: datetime


def load_file(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    info: FileInfo,
    load_id: str,
    loaded_at: datetime,
    rejects: list | None,
    tmp_suffix: str,
    rules: AccountRules | None = None,
) -> Counts:
    """Delete the file's old rows and load it.

    `rules`: account matching, unknown accounts and dates in the future (matching.prepare).

    `rejects` = malformed CSV lines found by a previous attempt ([(line, error_type, csv_line,
    message)]), or None when not known yet: then the first scan records them and, if there are
    any, raises Retry so the file is read again with correct row numbers.
    """
    src = plan.source
    raw = f"raw.{qi(src.name)}"
    file_lit = ql(info.rel)
    con.execute(f"DELETE FROM {raw} WHERE _source_file = ?", [info.rel])
    con.execute(
        "DELETE FROM ingest_meta.quarantine WHERE source = ? AND file = ?", [src.name, info.rel]
    )

    reader = plan.reader
    rej_table = f"__hm_rejects_{tmp_suffix}"
    map_table = f"__hm_rowmap_{tmp_suffix}"
    if reader.kind == "csv":
        first_errors = (
            f"store_rejects=true, rejects_table={ql(rej_table)}, "
            f"rejects_scan={ql('__hm_scan_' + tmp_suffix)}"
            if rejects is None
            else "ignore_errors=true"
        )
        other_errors = "ignore_errors=true"
    else:
        first_errors = other_errors = ""

    row_map = None
    if rejects:
        # Valid rows are numbered 1..n by the scan; shift them past the malformed lines.
        # g_j = (data row of j-th reject) - j = valid rows before it; a valid row numbered rn
        # comes after every reject with g_j < rn.
        lines = sorted({int(r[0]) - 1 for r in rejects})
        con.execute(f"CREATE OR REPLACE TEMP TABLE {map_table} (g BIGINT, k BIGINT)")
        pairs = {}
        for j, row in enumerate(lines, start=1):
            pairs[row - j] = j
        con.executemany(f"INSERT INTO {map_table} VALUES (?, ?)", list(pairs.items()))
        row_map = map_table

    contract_cols = [c.name for c in src.columns]
    extra_names = [n for n, _ in plan.extras]
    insert_cols = ", ".join(
        qi(n) for n in contract_cols + extra_names + [n for n, _ in LINEAGE_COLUMNS]
    )
    account_id = rules.account_id_sql if rules else qi("account_id")
    select_cols = ", ".join(
        [account_id if n == "account_id" else qi(n) for n in contract_cols]
        + [f"__x{i}" for i in range(len(extra_names))]
        + [
            file_lit,
            "__row",
            ql(info.file_hash),
            f"TIMESTAMP {ql(info.mtime.isoformat(sep=' '))}",
            f"TIMESTAMP {ql(loaded_at.isoformat(sep=' '))}",
            rules.account_ref_sql if rules else "CAST(NULL AS VARCHAR)",
            "__n" if plan.aggregate else "CAST(NULL AS BIGINT)",  # (_source_events)
        ]
    )

    def checked(errors: str) -> Checked:
        chk = checked_sql(plan, reader.relation(errors), row_map)
        return rules.apply(chk) if rules else chk

    skipped, written, bad = 0, None, None
    if plan.aggregate:
        loaded, written, skipped, bad = _insert_aggregated(
            con, plan, checked(first_errors).sql, raw, insert_cols, select_cols, tmp_suffix, rules
        )
    else:
        loaded = con.execute(
            f"INSERT INTO {raw} ({insert_cols}) SELECT {select_cols} "
            f"FROM ({checked(first_errors).sql}) WHERE __rule IS NULL"
        ).fetchone()[0]

    if rejects is None and reader.kind == "csv":
        found = con.execute(
            f"SELECT line, error_type, csv_line, error_message FROM {rej_table} ORDER BY line"
        ).fetchall()
        if found:
            if any(r[1] == "INVALID ENCODING" for r in found):
                raise Retry(encoding="invalid-encoding", rejects=found)
            raise Retry(rejects=found)
        rejects = []

    q_cols = "source, file, row_number, rule, detail, record, quarantined_at, load_id"
    q_const = f"{ql(src.name)}, {file_lit}"
    q_tail = f"TIMESTAMP {ql(loaded_at.isoformat(sep=' '))}, {ql(load_id)}"
    chk = checked(other_errors)
    account_ref = rules.quarantine_ref_sql if rules else "CAST(NULL AS VARCHAR)"
    quarantined = 0
    if bad != 0:  # (the aggregate counted them: no second pass over a clean event file)
        quarantined = con.execute(
            f"INSERT INTO ingest_meta.quarantine ({q_cols}, account_ref) "
            f"SELECT {q_const}, __row, __rule, {chk.detail}, {chk.record}, {q_tail}, "
            f"{account_ref} "
            f"FROM ({chk.sql}) WHERE __rule IS NOT NULL AND __rule <> {ql(NOT_DATA_RULE)}"
        ).fetchone()[0]
    if plan.has_skip and not plan.aggregate:
        skipped = con.execute(
            f"SELECT count(*) FROM ({chk.sql}) WHERE __rule = {ql(NOT_DATA_RULE)}"
        ).fetchone()[0]

    malformed = 0
    if rejects:
        by_line: dict[int, tuple] = {}
        for line, etype, csv_line, message in rejects:
            by_line.setdefault(int(line), (etype, csv_line, message))
        rows = [
            (
                src.name,
                info.rel,
                line - 1,
                MALFORMED_RULE,
                f"{etype}: {message}",
                f'{{"_line": {_json_str(csv_line)}}}',
                loaded_at,
                load_id,
            )
            for line, (etype, csv_line, message) in sorted(by_line.items())
        ]
        con.executemany(
            f"INSERT INTO ingest_meta.quarantine ({q_cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        malformed = len(rows)

    dups = 0
    if not plan.aggregate:  # aggregated rows have one row per key
        dups = _quarantine_duplicates(con, plan, info, chk, q_cols, q_const, q_tail, tmp_suffix)
    loaded -= dups
    quarantined += dups + malformed
    return Counts(loaded + quarantined, loaded, quarantined, skipped, written)


def _insert_aggregated(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    checked: str,
    raw: str,
    insert_cols: str,
    select_cols: str,
    tmp_suffix: str,
    rules: AccountRules | None = None,
) -> tuple[int, int, int, int]:
    """Events to usage rows, in one streaming aggregate over the file: count (and minutes) per
    account, day, user and feature; the first event's row is the usage row's _source_row.
    With account matching, the account is the matched one (columns named as `select_cols`
    reads them), and the usage row keeps the first tool id that named it.

    Returns (events loaded, usage rows written, rows that are not data, rows breaking a rule);
    the rows breaking a rule are counted here and quarantined by a second pass, if any.
    """
    account_id = rules.account_id_sql if rules else qi("account_id")
    account_ref = rules.account_ref_sql if rules else "CAST(NULL AS VARCHAR)"
    state = f"CASE WHEN __rule IS NULL THEN 0 WHEN __rule = {ql(NOT_DATA_RULE)} THEN 1 ELSE 2 END"
    keys = ", ".join(
        f"CASE WHEN __rule IS NULL THEN {account_id if k == 'account_id' else qi(k)} END AS "
        f"{account_id if k == 'account_id' else qi(k)}"
        for k in plan.source.key
    )
    ref = (
        f", min(CASE WHEN __rule IS NULL THEN {account_ref} END) AS {account_ref}"
        if rules and rules.lookup
        else ""
    )
    agg = f"__hm_agg_{tmp_suffix}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {agg} AS "
        f"SELECT {state} AS __state, {keys}, sum(event_count) AS event_count, "
        f"sum(minutes) AS minutes, min(__row) AS __row, count(*) AS __n{ref} "
        f"FROM ({checked}) GROUP BY ALL"
    )
    written = con.execute(
        f"INSERT INTO {raw} ({insert_cols}) SELECT {select_cols} FROM {agg} WHERE __state = 0"
    ).fetchone()[0]
    sums = ", ".join(f"COALESCE(sum(__n) FILTER (WHERE __state = {i}), 0)" for i in range(3))
    loaded, skipped, bad = con.execute(f"SELECT {sums} FROM {agg}").fetchone()
    con.execute(f"DROP TABLE IF EXISTS {agg}")
    return int(loaded), written, int(skipped), int(bad)


def _json_str(value: str | None) -> str:
    return json.dumps(value if value is not None else "")


def _quarantine_duplicates(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    info: FileInfo,
    chk: Checked,
    q_cols: str,
    q_const: str,
    q_tail: str,
    tmp_suffix: str,
) -> int:
    """Within-file duplicate keys: keep the last row, move the earlier ones to quarantine."""
    src = plan.source
    raw = f"raw.{qi(src.name)}"
    keys = [qi(k) for k in src.key]
    key_list = ", ".join(keys)
    file_lit = ql(info.rel)
    # Cheap first pass on a 64-bit hash of the key, exact pass only on candidate hashes.
    dup_table = f"__hm_dups_{tmp_suffix}"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {dup_table} AS
        WITH cand AS (
            SELECT hash({key_list}) AS h FROM {raw} WHERE _source_file = {file_lit}
            GROUP BY h HAVING count(*) > 1
        ),
        rows AS (
            SELECT {key_list}, _source_row FROM {raw}
            WHERE _source_file = {file_lit} AND hash({key_list}) IN (SELECT h FROM cand)
        ),
        keep AS (
            SELECT {key_list}, max(_source_row) AS keep_row FROM rows
            GROUP BY ALL HAVING count(*) > 1
        )
        SELECT r._source_row AS __row, k.keep_row
        FROM rows r JOIN keep k ON {" AND ".join(f"r.{k} IS NOT DISTINCT FROM k.{k}" for k in keys)}
        WHERE r._source_row < k.keep_row
        """
    )
    n = con.execute(f"SELECT count(*) FROM {dup_table}").fetchone()[0]
    if n:
        key_desc = " || ', ' || ".join(
            f"{ql(k + '=')} || COALESCE(CAST(c.{qi(k)} AS VARCHAR), 'NULL')" for k in src.key
        )
        detail = (
            f"'duplicate key (' || {key_desc} || ') in this file; the last row (' || "
            f"d.keep_row || ') wins'"
        )
        con.execute(
            f"INSERT INTO ingest_meta.quarantine ({q_cols}) "
            f"SELECT {q_const}, c.__row, {ql(DUPLICATE_RULE)}, {detail}, {chk.record}, {q_tail} "
            f"FROM ({chk.sql}) c JOIN {dup_table} d ON c.__row = d.__row"
        )
        con.execute(
            f"DELETE FROM {raw} WHERE _source_file = {file_lit} "
            f"AND _source_row IN (SELECT __row FROM {dup_table})"
        )
    con.execute(f"DROP TABLE IF EXISTS {dup_table}")
    return n
