"""Account matching, and the rules that hold a row against the other exports and the calendar.

Each is a join or a comparison in DuckDB, over the typed rows of a file (cast_sql.checked_sql):

* **matching** (a source whose ingest config names an ``account_match``): the account column
  holds a tool's own id (``stripe_customer_id`` …) or, for ``email_domain``, an e-mail address
  or a domain. It is looked up in the accounts export's column of that name (``domain`` /
  ``website`` for e-mail domains) and in the crosswalk's rows of that ``system`` (``domain``);
  the row loads with the account found and keeps what it named in ``_source_account_ref``. An
  id found nowhere is ``unmatched_account``, an id naming two accounts ``ambiguous_account``;
  nothing is guessed.
* **unknown_account**: the row's account (matched or as exported) is not in the accounts
  export. Off while no accounts are loaded at all: there is nothing to hold the rows against.
* **date_in_future**: a date that records something that already happened
  (Source.past_date_columns) lies after the load date plus a tolerance of days.

Rows quarantined for an account rule keep the id they named (``ingest_meta.quarantine.
account_ref``): :func:`files_to_retry` finds the files with such rows that an account or a
crosswalk row loaded since would now match, and the ingest loads those files again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from healthmart.core.contract import (
    ACCOUNT_COLUMN,
    ACCOUNTS_SOURCE,
    CROSSWALK_SOURCE,
    Source,
    names_accounts,
)
from healthmart.defs.ingest.cast_sql import Checked
from healthmart.defs.ingest.config import EMAIL_DOMAIN
from healthmart.defs.ingest.sql import qi, ql

FUTURE_RULE = "date_in_future"
UNMATCHED_RULE = "unmatched_account"
AMBIGUOUS_RULE = "ambiguous_account"
UNKNOWN_RULE = "unknown_account"
ACCOUNT_RULES = (UNMATCHED_RULE, AMBIGUOUS_RULE, UNKNOWN_RULE)

# Where e-mail domain matching finds an account's domain: columns of the accounts export and
# the crosswalk's system.
DOMAIN_COLUMNS = ("domain", "website")
DOMAIN_SYSTEM = "domain"
# Accounts an ambiguous id is shown with in the quarantine detail.
_SHOWN = 3


def domain_sql(expr: str) -> str:
    """The domain of an e-mail address, a web address or a domain: lower-cased, without the
    part before '@', the scheme, 'www.', a port or a path ('Ann <ann@Acme.com>' -> acme.com)."""
    text = f"lower(trim({expr}))"
    text = f"regexp_replace({text}, '^[a-z][a-z0-9+.-]*://', '')"
    text = f"regexp_replace({text}, '^.*@', '')"
    text = f"regexp_replace({text}, '^www\\.', '')"
    return f"NULLIF(regexp_replace({text}, '[/:?#>\\s].*$', ''), '')"


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {
        name.lower()
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ?",
            [table],
        ).fetchall()
    }


@dataclass(frozen=True)
class AccountRules:
    """What one ingest of a source holds its rows against (temp tables, dropped by close)."""

    source: Source
    match: str | None  # account_match: the tool id the account column holds
    # temp table (key, account_id, accounts, shown, known) of the matchable ids
    lookup: str | None
    known: str | None  # temp table (account_id) of the accounts export; None: no check
    future_after: date | None  # a past date column after this day is in the future

    def key_sql(self, expr: str) -> str:
        """The lookup key of an account column's value."""
        return domain_sql(expr) if self.match == EMAIL_DOMAIN else expr

    @property
    def active(self) -> bool:
        return bool(self.lookup or self.known or self.future_columns)

    @property
    def future_columns(self) -> tuple[str, ...]:
        return self.source.past_date_columns if self.future_after is not None else ()

    @property
    def account_id_sql(self) -> str:
        """The account_id a good row loads with."""
        return "__account_id" if self.lookup else qi(ACCOUNT_COLUMN)

    @property
    def account_ref_sql(self) -> str:
        """What the row named, kept in raw (_source_account_ref): the tool's id when matched."""
        return "__account_ref" if self.lookup else "CAST(NULL AS VARCHAR)"

    @property
    def quarantine_ref_sql(self) -> str:
        """What a row quarantined for an account rule named (to retry it later)."""
        if not (self.lookup or self.known):
            return "CAST(NULL AS VARCHAR)"
        rules = ", ".join(ql(r) for r in ACCOUNT_RULES)
        return f"CASE WHEN __rule IN ({rules}) THEN __account_ref END"

    def apply(self, checked: Checked) -> Checked:
        """The checked rows with the account found and the rules of this module added after
        the contract's (a row keeps the first rule it breaks)."""
        if not self.active:
            return checked
        account = qi(ACCOUNT_COLUMN)
        joins = []
        if self.lookup:
            joins.append(f"LEFT JOIN {self.lookup} l ON l.key = {self.key_sql(f'c.{account}')}")
            resolved = "CASE WHEN l.accounts = 1 THEN l.account_id END"
        else:
            resolved = f"c.{account}" if names_accounts(self.source) else "NULL"
        if self.lookup:  # the lookup knows whether its account is exported: one join
            known = "l.known"
        elif self.known:
            joins.append(f"LEFT JOIN {self.known} k ON k.account_id = {resolved}")
            known = "k.account_id IS NOT NULL"
        else:
            known = "true"
        matched = [
            f"c.{account} AS __account_ref" if names_accounts(self.source) else "",
            f"{resolved} AS __account_id",
            "l.accounts AS __accounts, l.shown AS __shown" if self.lookup else "",
            f"{known} AS __known",
        ]
        checks: list[tuple[str, str, str]] = []
        after = f"DATE {ql(self.future_after.isoformat())}" if self.future_after else ""
        for column in self.future_columns:
            checks.append(
                (
                    f"CAST({qi(column)} AS DATE) > {after}",
                    FUTURE_RULE,
                    f"{ql(column + '=')} || CAST({qi(column)} AS VARCHAR) || "
                    f"{ql(f' is after {self.future_after} (the load date plus the tolerance)')}",
                )
            )
        named = f"{ql(self.match or '')} || ' ''' || __account_ref || ''''"
        if self.lookup:
            where = (
                f"the accounts export's {' or '.join(DOMAIN_COLUMNS)} column or crosswalk system "
                f"{DOMAIN_SYSTEM}"
                if self.match == EMAIL_DOMAIN
                else f"the accounts export's {self.match} column or crosswalk system {self.match}"
            )
            checks += [
                (
                    "__accounts IS NULL",
                    UNMATCHED_RULE,
                    f"{named} || {ql(f' matches no account (looked up in {where})')}",
                ),
                (
                    "__accounts > 1",
                    AMBIGUOUS_RULE,
                    f"{named} || ' matches ' || __accounts || ' accounts (' || __shown || "
                    "'); fix the accounts export or the crosswalk'",
                ),
            ]
        if self.known:
            if self.lookup:
                unknown = (
                    f"{named} || ' matches account ''' || __account_id || "
                    "''', which is not in the accounts export'"
                )
            else:
                unknown = (
                    f"{ql(ACCOUNT_COLUMN + ' ')} || '''' || __account_ref || "
                    "''' is not in the accounts export'"
                )
            checks.append(("NOT __known", UNKNOWN_RULE, unknown))
        rule = " ".join(f"WHEN {c} THEN {ql(r)}" for c, r, _ in checks)
        detail = " ".join(f"WHEN __rule = {ql(r)} THEN {d}" for _, r, d in checks)
        sql = f"""
            WITH c AS ({checked.sql}),
            m AS (SELECT c.*, {", ".join(x for x in matched if x)} FROM c {" ".join(joins)})
            SELECT * REPLACE (CASE WHEN __rule IS NOT NULL THEN __rule {rule} END AS __rule)
            FROM m
        """
        detail = f"CASE {detail} ELSE {checked.detail} END" if detail else checked.detail
        return Checked(sql, detail, checked.record)

    def close(self, con: duckdb.DuckDBPyConnection) -> None:
        for table in (self.lookup, self.known):
            if table:
                con.execute(f"DROP TABLE IF EXISTS {table}")


def prepare(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    account_match: str | None,
    future_after: date | None,
) -> AccountRules:
    """The account rules of one ingest of `source`: its lookup of ids and the known accounts,
    read once from raw.accounts and raw.crosswalk as loaded now (temp tables)."""
    suffix = uuid.uuid4().hex[:12]
    lookup = known = None
    if names_accounts(source):
        present = _table_columns(con, ACCOUNTS_SOURCE)
        if present and con.execute(f"SELECT count(*) > 0 FROM raw.{ACCOUNTS_SOURCE}").fetchone()[0]:
            known = f"__hm_known_{suffix}"
            con.execute(
                f"CREATE TEMP TABLE {known} AS SELECT DISTINCT {ACCOUNT_COLUMN} AS account_id "
                f"FROM raw.{ACCOUNTS_SOURCE} WHERE {ACCOUNT_COLUMN} IS NOT NULL"
            )
        # account_match account_id: the column holds our account_id (overriding a preset's
        # tool id): nothing to look up
        if account_match not in (None, ACCOUNT_COLUMN):
            lookup = f"__hm_lookup_{suffix}"
            _create_lookup(con, lookup, account_match, present, known)
    return AccountRules(source, account_match, lookup, known, future_after)


def _create_lookup(
    con: duckdb.DuckDBPyConnection,
    table: str,
    match: str,
    account_columns: set[str],
    known: str | None,
) -> None:
    """key -> the accounts it names, from the accounts export's id columns and the crosswalk,
    and whether the one it names is in the accounts export (`known`: their table, None: no
    check)."""
    by_domain = match == EMAIL_DOMAIN
    columns = DOMAIN_COLUMNS if by_domain else (match,)
    system = DOMAIN_SYSTEM if by_domain else match

    def key(expr: str) -> str:
        return domain_sql(expr) if by_domain else f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"

    parts = [
        f"SELECT {key(qi(c))} AS key, {ACCOUNT_COLUMN} AS account_id FROM raw.{ACCOUNTS_SOURCE}"
        for c in columns
        if c in account_columns
    ]
    if _table_columns(con, CROSSWALK_SOURCE):
        parts.append(
            f"SELECT {key('external_id')} AS key, account_id FROM raw.{CROSSWALK_SOURCE} "
            f"WHERE lower(trim(system)) = {ql(system)}"
        )
    pairs = " UNION ALL ".join(parts) if parts else "SELECT NULL AS key, NULL AS account_id"
    is_known = f"account_id IN (SELECT account_id FROM {known})" if known else "true"
    con.execute(
        f"""
        CREATE TEMP TABLE {table} AS
        WITH ids AS (
            SELECT
                key,
                min(account_id) AS account_id,
                count(DISTINCT account_id) AS accounts,
                array_to_string(list_sort(list(DISTINCT account_id))[1:{_SHOWN}], ', ')
                    || CASE WHEN count(DISTINCT account_id) > {_SHOWN} THEN ', ...' ELSE '' END
                    AS shown
            FROM ({pairs})
            WHERE key IS NOT NULL AND account_id IS NOT NULL
            GROUP BY key
        )
        SELECT *, {is_known} AS known FROM ids
        """
    )


def files_to_retry(con: duckdb.DuckDBPyConnection, rules: AccountRules) -> set[str]:
    """Files of the source with rows quarantined for an account rule that would now load: the
    id they named matches exactly one account, and that account is known."""
    if not (rules.lookup or rules.known):
        return set()
    account_rules = ", ".join(ql(r) for r in ACCOUNT_RULES)
    if rules.lookup:
        join = f"JOIN {rules.lookup} l ON l.key = {rules.key_sql('q.account_ref')}"
        condition = "l.accounts = 1 AND l.known"
    else:
        join = ""
        condition = f"q.account_ref IN (SELECT account_id FROM {rules.known})"
    rows = con.execute(
        f"SELECT DISTINCT q.file FROM ingest_meta.quarantine q {join} "
        f"WHERE q.source = ? AND q.rule IN ({account_rules}) AND q.account_ref IS NOT NULL "
        f"AND {condition}",
        [rules.source.name],
    ).fetchall()
    return {file for (file,) in rows}


def future_after(load_date: date, tolerance_days: int) -> date:
    """The last day a past date may name: the load date plus the tolerance (time zones)."""
    return load_date + timedelta(days=tolerance_days)
