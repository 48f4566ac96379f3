"""The export contract (v1): which sources exist, their columns, types, keys and rules.

This module is data, not behaviour. Ingest reads it to cast, check and load each export;
the dbt sources mirror it. A column type is a DuckDB SQL type; every column of a raw table
is stored with that type, extra (unknown) columns are kept as VARCHAR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Dates that record something that already happened, beside each source's time column and
# version column. Other dates (due_date, contract_end, valid_until) may lie ahead.
PAST_DATE_COLUMNS = ("signup_date", "paid_date", "closed_at")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type: VARCHAR, DATE, TIMESTAMP, INTEGER, BIGINT, DOUBLE
    required: bool = False
    accepted: tuple[str, ...] | None = None  # accepted values (after lower-casing)
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # Column whose newest value wins between two versions of the same key (else newest file).
    version_column: str | None = None
    # The column that places a row in time (what the range of scoring dates spans); None for
    # sources that are state, not events (accounts).
    time_column: str | None = None
    # Extra row rules as (rule_name, SQL predicate that is TRUE for a *bad* row) over typed columns.
    row_rules: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def past_date_columns(self) -> tuple[str, ...]:
        """The date and timestamp columns that record something that already happened: none
        may lie after the day its file was loaded (due dates and renewals may)."""
        past = (self.time_column, self.version_column, *PAST_DATE_COLUMNS)
        return tuple(
            c.name
            for c in self.columns
            if c.name in past and c.type.upper() in ("DATE", "TIMESTAMP")
        )

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


# The column that names the account in every export whose rows belong to one, the source that
# lists the accounts, and the one that maps each tool's own customer id to them.
ACCOUNT_COLUMN = "account_id"
ACCOUNTS_SOURCE = "accounts"
CROSSWALK_SOURCE = "crosswalk"


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="accounts",
            description="One row per customer account (the CRM export).",
            key=("account_id",),
            version_column="updated_at",
            columns=(
                Column("account_id", "VARCHAR", required=True),
                Column("account_name", "VARCHAR"),
                Column("industry", "VARCHAR"),
                Column("employees", "INTEGER", min_value=0),
                Column("segment", "VARCHAR"),
                Column("plan", "VARCHAR"),
                Column("region", "VARCHAR"),
                Column("csm_owner", "VARCHAR"),
                Column("signup_date", "DATE", required=True),
                Column("contract_start", "DATE"),
                Column("contract_end", "DATE"),
                Column("arr", "DOUBLE", min_value=0),
                Column("licensed_seats", "INTEGER", min_value=0),
                Column("updated_at", "TIMESTAMP"),
            ),
        ),
        Source(
            name="crosswalk",
            description=(
                "Account matching: which account each tool's own id belongs to (one row per "
                "system, external id and account). A source whose ingest config names an "
                "account_match (e.g. stripe_customer_id) has its rows matched through it."
            ),
            key=("system", "external_id", "account_id"),
            version_column="updated_at",
            columns=(
                # The tool id's name, as account_match names it: stripe_customer_id,
                # zendesk_organization_id, segment_group_id, salesforce_id, hubspot_record_id,
                # or domain (what email_domain matching looks up).
                Column("system", "VARCHAR", required=True),
                Column("external_id", "VARCHAR", required=True),
                Column("account_id", "VARCHAR", required=True),
                Column("updated_at", "TIMESTAMP"),
            ),
        ),
        Source(
            name="billing",
            time_column="issued_date",
            description="One row per invoice (the billing system export).",
            key=("invoice_id",),
            version_column="updated_at",
            columns=(
                Column("invoice_id", "VARCHAR", required=True),
                Column("account_id", "VARCHAR", required=True),
                Column("issued_date", "DATE", required=True),
                Column("due_date", "DATE", required=True),
                Column("amount", "DOUBLE", required=True, min_value=0),
                Column("currency", "VARCHAR"),
                Column("paid_date", "DATE"),
                Column(
                    "status",
                    "VARCHAR",
                    required=True,
                    accepted=("paid", "open", "void", "failed", "refunded"),
                ),
                Column("updated_at", "TIMESTAMP"),
                # The service period the invoice bills, both days included (Stripe, Chargebee
                # and Recurly invoices carry it); inferred from the billing cadence without it.
                Column("period_start", "DATE"),
                Column("period_end", "DATE"),
            ),
            row_rules=(
                ("due_date_before_issued_date", "due_date < issued_date"),
                ("period_end_before_period_start", "period_end < period_start"),
            ),
        ),
        Source(
            name="support",
            time_column="opened_at",
            description="One row per support ticket (the help-desk export).",
            key=("ticket_id",),
            version_column="updated_at",
            columns=(
                Column("ticket_id", "VARCHAR", required=True),
                Column("account_id", "VARCHAR", required=True),
                Column("opened_at", "TIMESTAMP", required=True),
                Column("closed_at", "TIMESTAMP"),
                Column("priority", "VARCHAR", accepted=("low", "normal", "high", "urgent")),
                Column(
                    "category",
                    "VARCHAR",
                    accepted=("question", "bug", "incident", "feature_request", "other"),
                ),
                Column("csat", "DOUBLE", min_value=1, max_value=5),
                Column("first_response_minutes", "DOUBLE", min_value=0),
                Column("updated_at", "TIMESTAMP"),
            ),
            row_rules=(("closed_before_opened", "closed_at < opened_at"),),
        ),
        Source(
            name="survey",
            time_column="responded_at",
            description="One row per survey response (NPS or CSAT).",
            key=("response_id",),
            columns=(
                Column("response_id", "VARCHAR", required=True),
                Column("account_id", "VARCHAR", required=True),
                Column("responded_at", "TIMESTAMP", required=True),
                Column("survey_type", "VARCHAR", required=True, accepted=("nps", "csat")),
                Column("score", "DOUBLE", required=True, min_value=0, max_value=10),
                Column(
                    "respondent_role",
                    "VARCHAR",
                    accepted=("executive", "decision_maker", "end_user"),
                ),
                Column("comment", "VARCHAR"),
            ),
            row_rules=(
                ("csat_score_out_of_range", "survey_type = 'csat' and (score < 1 or score > 5)"),
                ("nps_score_not_integer", "survey_type = 'nps' and score <> floor(score)"),
            ),
        ),
        Source(
            name="usage",
            time_column="activity_date",
            description=("Product usage: one row per account, day, user (optional) and feature."),
            key=("account_id", "activity_date", "user_id", "feature"),
            columns=(
                Column("account_id", "VARCHAR", required=True),
                Column("activity_date", "DATE", required=True),
                Column("user_id", "VARCHAR"),
                Column("feature", "VARCHAR", required=True),
                Column("event_count", "BIGINT", required=True, min_value=0),
                Column("minutes", "DOUBLE", min_value=0),
            ),
        ),
        Source(
            name="csm",
            time_column="assessed_at",
            description="CSM assessments: sentiment and renewal intent, valid for a while.",
            key=("account_id", "assessed_at"),
            columns=(
                Column("account_id", "VARCHAR", required=True),
                Column("assessed_at", "TIMESTAMP", required=True),
                Column("sentiment", "DOUBLE", required=True, min_value=1, max_value=5),
                Column("renewal_intent", "VARCHAR", accepted=("likely", "neutral", "unlikely")),
                Column("author", "VARCHAR"),
                Column("note", "VARCHAR"),
                Column("valid_until", "DATE"),
            ),
        ),
        Source(
            name="outcomes",
            time_column="event_date",
            description="Lifecycle outcomes: churn, renewal, expansion, contraction, reactivation.",
            key=("account_id", "event_date", "event_type"),
            columns=(
                Column("account_id", "VARCHAR", required=True),
                Column("event_date", "DATE", required=True),
                Column(
                    "event_type",
                    "VARCHAR",
                    required=True,
                    accepted=("churned", "renewed", "expanded", "contracted", "reactivated"),
                ),
                Column("reason", "VARCHAR"),
                Column("arr_change", "DOUBLE"),
            ),
        ),
        Source(
            name="overrides",
            description=(
                "CSM overrides of the health score: an effective score or tier set by a person, "
                "with author and reason, valid from a date until a date (default 60 days)."
            ),
            key=("account_id", "valid_from"),
            columns=(
                Column("account_id", "VARCHAR", required=True),
                Column("health_score", "DOUBLE", min_value=0, max_value=100),
                Column("tier", "VARCHAR"),
                Column("author", "VARCHAR", required=True),
                Column("reason", "VARCHAR", required=True),
                Column("valid_from", "DATE", required=True),
                Column("valid_until", "DATE"),
            ),
            row_rules=(
                ("override_without_score_or_tier", "health_score is null and tier is null"),
                ("valid_until_before_valid_from", "valid_until < valid_from"),
            ),
        ),
    )
}


def names_accounts(source: Source) -> bool:
    """Whether the rows of `source` belong to accounts of the accounts export: its account
    column is checked against them (and matched through the crosswalk where configured)."""
    return ACCOUNT_COLUMN in source.column_names and source.name not in (
        ACCOUNTS_SOURCE,
        CROSSWALK_SOURCE,
    )
