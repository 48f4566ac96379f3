"""Reference (b): today's health scores in plain pandas, what an analyst would otherwise write.

Read every export file into DataFrames, clean and dedupe them the way staging does, keep the
customers of the scoring date (the day after the last activity), compute the twelve signals
over their windows, normalise them, weight them with the preset assigned by lifecycle stage
(renormalising over the signals and dimensions that have data) and round. Windows,
thresholds, bands and weights come from the seeds CSVs. Same output as reference (a).

    python -m benchmarks.reference_pandas --exports-dir data/exports --out scores.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.sources import contract_columns, export_files
from healthmart.core.settings import PROJECT_ROOT

SEEDS_DIR = PROJECT_ROOT / "seeds"


# ------------------------------------------------------------------------------------------
# Reading and cleaning
# ------------------------------------------------------------------------------------------
def read_source(exports_dir: Path, source: str) -> pd.DataFrame:
    """Every file of a source: the contract columns plus _file (the file's rank from oldest
    to newest: modification time, then path) and _row (row number within the file)."""
    columns = list(contract_columns(source))
    files = export_files(exports_dir, source)
    rank = {f.path: i for i, f in enumerate(sorted(files, key=lambda f: (f.mtime, f.rel)))}
    frames = []
    for f in files:
        if f.kind == "csv":
            df = pd.read_csv(f.path, dtype=str, keep_default_na=False, compression="infer")
        elif f.kind == "parquet":
            df = pd.read_parquet(f.path, to_pandas_kwargs={"date_as_object": False})
        else:
            df = pd.read_json(f.path, lines=True, dtype=False)
        df.columns = [str(c).strip().lower() for c in df.columns]
        df = df.reindex(columns=columns)
        df["_file"] = np.int32(rank[f.path])
        df["_row"] = np.arange(len(df), dtype=np.int64)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=[*columns, "_file", "_row"])
    return pd.concat(frames, ignore_index=True)


def txt(s: pd.Series) -> pd.Series:
    """Text as the ingest stores it: trimmed, empty = missing."""
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def num(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s):
        out = s.astype("float64")
    else:
        out = pd.to_numeric(txt(s), errors="coerce").astype("float64")
    return out.where(np.isfinite(out))


def as_date(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.floor("D")
    parsed = pd.to_datetime(txt(s), errors="coerce", format="ISO8601", utc=True)
    return parsed.dt.tz_localize(None).dt.floor("D")


def as_timestamp(s: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(txt(s), errors="coerce", format="ISO8601", utc=True)
    return parsed.dt.tz_localize(None)


def bad(raw: pd.Series, typed: pd.Series) -> pd.Series:
    """A value that is there but does not parse: the ingest quarantines the row."""
    there = raw.notna() if pd.api.types.is_numeric_dtype(raw) else txt(raw).notna()
    return there & typed.isna()


def day(s: pd.Series) -> pd.Series:
    """Whole days since 1970-01-01 (the scoring maths works in days)."""
    return (s - pd.Timestamp("1970-01-01")).dt.days


def newest(df: pd.DataFrame, key: list[str], version: str | None = None) -> pd.DataFrame:
    """One row per key: newest version column, else newest file, else last row."""
    order = ([version] if version else []) + ["_file", "_row"]
    ranked = df.sort_values(order, ascending=False, na_position="last")
    return ranked.drop_duplicates(subset=key, keep="first")


def integer(s: pd.Series) -> pd.Series:
    values = num(s)
    return values.where(values == values.round())


def stage_accounts(raw: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "account_id": txt(raw["account_id"]),
            "segment": txt(raw["segment"]).str.lower(),
            "signup_day": day(as_date(raw["signup_date"])),
            "licensed_seats": integer(raw["licensed_seats"]),
            "contract_start_day": day(as_date(raw["contract_start"])),
            "contract_end_day": day(as_date(raw["contract_end"])),
            "updated_at": as_timestamp(raw["updated_at"]),
            "_file": raw["_file"],
            "_row": raw["_row"],
        }
    )
    employees, arr = integer(raw["employees"]), num(raw["arr"])
    is_bad = (
        bad(raw["signup_date"], df["signup_day"])
        | bad(raw["licensed_seats"], df["licensed_seats"])
        | bad(raw["updated_at"], df["updated_at"])
        | bad(raw["arr"], arr)
        | bad(raw["employees"], employees)
        | bad(raw["contract_start"], df["contract_start_day"])
        | bad(raw["contract_end"], df["contract_end_day"])
        | (df["licensed_seats"] < 0)
        | (arr < 0)
        | (employees < 0)
    )
    df = df[df["account_id"].notna() & df["signup_day"].notna() & ~is_bad]
    return newest(df, ["account_id"], "updated_at")


def stage_invoices(raw: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "invoice_id": txt(raw["invoice_id"]),
            "account_id": txt(raw["account_id"]),
            "issued_day": day(as_date(raw["issued_date"])),
            "due_day": day(as_date(raw["due_date"])),
            "paid_day": day(as_date(raw["paid_date"])),
            "amount": num(raw["amount"]),
            "status": txt(raw["status"]).str.lower(),
            "period_start_day": day(as_date(raw["period_start"])),
            "period_end_day": day(as_date(raw["period_end"])),
            "updated_at": as_timestamp(raw["updated_at"]),
            "_file": raw["_file"],
            "_row": raw["_row"],
        }
    )
    ok = (
        df["invoice_id"].notna()
        & df["account_id"].notna()
        & df["issued_day"].notna()
        & df["due_day"].notna()
        & (df["amount"] >= 0)
        & df["status"].isin(["paid", "open", "void", "failed", "refunded"])
        & (df["due_day"] >= df["issued_day"])
        & ~(df["period_end_day"] < df["period_start_day"])
        & ~bad(raw["paid_date"], df["paid_day"])
        & ~bad(raw["updated_at"], df["updated_at"])
        & ~bad(raw["period_start"], df["period_start_day"])
        & ~bad(raw["period_end"], df["period_end_day"])
    )
    return newest(df[ok], ["invoice_id"], "updated_at")


def stage_tickets(raw: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "ticket_id": txt(raw["ticket_id"]),
            "account_id": txt(raw["account_id"]),
            "opened_at": as_timestamp(raw["opened_at"]),
            "closed_at": as_timestamp(raw["closed_at"]),
            "priority": txt(raw["priority"]).str.lower(),
            "category": txt(raw["category"]).str.lower(),
            "csat": num(raw["csat"]),
            "updated_at": as_timestamp(raw["updated_at"]),
            "_file": raw["_file"],
            "_row": raw["_row"],
        }
    )
    minutes = num(raw["first_response_minutes"])
    ok = (
        df["ticket_id"].notna()
        & df["account_id"].notna()
        & df["opened_at"].notna()
        & (df["priority"].isna() | df["priority"].isin(["low", "normal", "high", "urgent"]))
        & (
            df["category"].isna()
            | df["category"].isin(["question", "bug", "incident", "feature_request", "other"])
        )
        & (df["csat"].isna() | df["csat"].between(1, 5))
        & ~(df["closed_at"] < df["opened_at"])
        & ~bad(raw["closed_at"], df["closed_at"])
        & ~bad(raw["csat"], df["csat"])
        & ~bad(raw["updated_at"], df["updated_at"])
        & ~bad(raw["first_response_minutes"], minutes)
        & ~(minutes < 0)
    )
    return newest(df[ok], ["ticket_id"], "updated_at")


def stage_responses(raw: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "response_id": txt(raw["response_id"]),
            "account_id": txt(raw["account_id"]),
            "responded_at": as_timestamp(raw["responded_at"]),
            "survey_type": txt(raw["survey_type"]).str.lower(),
            "score": num(raw["score"]),
            "_file": raw["_file"],
            "_row": raw["_row"],
        }
    )
    role = txt(raw["respondent_role"]).str.lower()
    ok = (
        df["response_id"].notna()
        & df["account_id"].notna()
        & df["responded_at"].notna()
        & df["survey_type"].isin(["nps", "csat"])
        & df["score"].between(0, 10)
        & (role.isna() | role.isin(["executive", "decision_maker", "end_user"]))
        & ~((df["survey_type"] == "csat") & ((df["score"] < 1) | (df["score"] > 5)))
        & ~((df["survey_type"] == "nps") & (df["score"] != np.floor(df["score"])))
    )
    return newest(df[ok], ["response_id"])


def stage_assessments(raw: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "account_id": txt(raw["account_id"]),
            "assessed_at": as_timestamp(raw["assessed_at"]),
            "sentiment": num(raw["sentiment"]),
            "renewal_intent": txt(raw["renewal_intent"]).str.lower(),
            "valid_until_day": day(as_date(raw["valid_until"])),
            "_file": raw["_file"],
            "_row": raw["_row"],
        }
    )
    ok = (
        df["account_id"].notna()
        & df["assessed_at"].notna()
        & df["sentiment"].between(1, 5)
        & (
            df["renewal_intent"].isna()
            | df["renewal_intent"].isin(["likely", "neutral", "unlikely"])
        )
        & ~bad(raw["valid_until"], df["valid_until_day"])
    )
    return newest(df[ok], ["account_id", "assessed_at"])


def stage_outcomes(raw: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "account_id": txt(raw["account_id"]),
            "event_day": day(as_date(raw["event_date"])),
            "event_type": txt(raw["event_type"]).str.lower(),
        }
    )
    ok = (
        df["account_id"].notna()
        & df["event_day"].notna()
        & df["event_type"].isin(["churned", "renewed", "expanded", "contracted", "reactivated"])
        & ~bad(raw["arr_change"], num(raw["arr_change"]))
    )
    return df[ok].drop_duplicates()


def stage_usage(raw: pd.DataFrame) -> pd.DataFrame:
    """Typed, valid usage rows (not yet deduped: that is done on the rows a window needs)."""
    event_count = num(raw["event_count"])
    minutes = num(raw["minutes"])
    df = pd.DataFrame(
        {
            "account_id": txt(raw["account_id"]),
            "activity_day": day(as_date(raw["activity_date"])),
            "user_id": txt(raw["user_id"]),
            "feature": txt(raw["feature"]),
            "event_count": event_count,
            "_file": raw["_file"],
            "_row": raw["_row"],
        }
    )
    ok = (
        df["account_id"].notna()
        & df["activity_day"].notna()
        & df["feature"].notna()
        & (event_count >= 0)
        & (event_count == event_count.round())
        & ~bad(raw["minutes"], minutes)
        & ~(minutes < 0)
    )
    return df[ok]


# ------------------------------------------------------------------------------------------
# Service periods (revenue_trend)
# ------------------------------------------------------------------------------------------
def one_month_later(days: pd.Series) -> pd.Series:
    """The same day of the next calendar month (Jan 31 -> Feb 28 or 29), as day numbers."""
    dates = days.to_numpy(dtype="int64").astype("datetime64[D]")
    month = dates.astype("datetime64[M]")
    day_of_month = (dates - month.astype("datetime64[D]")).astype("int64")
    next_start = (month + 1).astype("datetime64[D]")
    next_length = ((month + 2).astype("datetime64[D]") - next_start).astype("int64")
    later = next_start + np.minimum(day_of_month, next_length - 1)
    return pd.Series(later.astype("int64"), index=days.index)


def service_periods(live: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """The days each (non-void) invoice bills, both included, and its daily amount in
    millionths (the pipeline's 6-decimal fixed point, so that window sums are exact).

    Only what was known at the issue date counts: the exported period, moved to start on the
    issue date when it starts before (billed in arrears); else from the issue date for as
    long as the gap since the account's previous issue date; an account's first invoice until
    the day before contract_end when issued within the contract, else one calendar month."""
    issue_days = live[["account_id", "issued_day"]].drop_duplicates()
    issue_days = issue_days.sort_values(["account_id", "issued_day"])
    issue_days["previous_day"] = issue_days.groupby("account_id")["issued_day"].shift()
    contracts = accounts[["account_id", "contract_start_day", "contract_end_day"]]
    p = live.merge(issue_days, on=["account_id", "issued_day"], how="left").merge(
        contracts, on="account_id", how="left"
    )
    exported = p["period_start_day"].notna() & p["period_end_day"].notna()
    in_contract = (p["contract_end_day"] > p["issued_day"]) & (
        p["contract_start_day"].isna() | (p["contract_start_day"] <= p["issued_day"])
    )
    issued = p["issued_day"].astype("int64")
    period_days = np.select(
        [exported, p["previous_day"].notna(), in_contract],
        [
            p["period_end_day"] - p["period_start_day"] + 1,
            issued - p["previous_day"],
            p["contract_end_day"] - issued,
        ],
        one_month_later(issued) - issued,
    ).astype("int64")
    start = np.where(exported, np.maximum(p["period_start_day"], issued), issued).astype("int64")
    # a double rounded to 6 decimals, half away from zero (amounts are never negative)
    micros = np.floor(p["amount"].to_numpy() / period_days * 1e6 + 0.5).astype("int64")
    return pd.DataFrame(
        {
            "account_id": p["account_id"].to_numpy(),
            "start_day": start,
            "end_day": start + period_days - 1,
            "daily_micros": micros,
        }
    )


def billed_in_window(periods: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """Per period: the daily amount (millionths) times its days in [first, last]."""
    days = (
        np.minimum(periods["end_day"], last) - np.maximum(periods["start_day"], first) + 1
    ).clip(lower=0)
    return periods.assign(billed=periods["daily_micros"] * days)


# ------------------------------------------------------------------------------------------
# Scoring
# ------------------------------------------------------------------------------------------
def load_config(seeds_dir: Path) -> dict[str, pd.DataFrame]:
    names = [
        "signal_config",
        "signal_bands",
        "ticket_weights",
        "enablement_features",
        "scoring_settings",
        "preset_weights",
        "preset_assignments",
        "tier_bands",
    ]
    return {n: pd.read_csv(seeds_dir / f"{n}.csv", dtype=str, keep_default_na=False) for n in names}


def like(values: pd.Series, pattern: str) -> pd.Series:
    """SQL LIKE with % and _ (no escapes)."""
    import re

    regex = "^" + "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern
    )
    return values.str.match(regex + "$", na=False)


def in_window(days: pd.Series, as_of: int, back_from: int, back_to: int = 1) -> pd.Series:
    """Days in [as_of - back_from, as_of - back_to]."""
    return (days >= as_of - back_from) & (days <= as_of - back_to)


def current_scores(exports_dir: Path, preset: str = "hbr", seeds_dir: Path = SEEDS_DIR):
    cfg = load_config(seeds_dir)
    signals = cfg["signal_config"].set_index("signal")
    window = {s: int(v) for s, v in signals["window_days"].items()}
    settings = dict(
        zip(cfg["scoring_settings"]["setting"], cfg["scoring_settings"]["value"], strict=True)
    )

    accounts = stage_accounts(read_source(exports_dir, "accounts"))
    invoices = stage_invoices(read_source(exports_dir, "billing"))
    tickets = stage_tickets(read_source(exports_dir, "support"))
    responses = stage_responses(read_source(exports_dir, "survey"))
    assessments = stage_assessments(read_source(exports_dir, "csm"))
    outcomes = stage_outcomes(read_source(exports_dir, "outcomes"))
    usage = stage_usage(read_source(exports_dir, "usage"))

    tickets["opened_day"] = day(tickets["opened_at"].dt.floor("D"))
    tickets["rated_day"] = day(tickets["closed_at"].fillna(tickets["opened_at"]).dt.floor("D"))
    responses["responded_day"] = day(responses["responded_at"].dt.floor("D"))
    assessments["assessed_day"] = day(assessments["assessed_at"].dt.floor("D"))

    # the scoring date: the day after the last activity in the exports
    last_days = [
        usage["activity_day"].max(),
        invoices["issued_day"].max(),
        tickets["opened_day"].max(),
        responses["responded_day"].max(),
        assessments["assessed_day"].max(),
        outcomes["event_day"].max(),
    ]
    as_of = int(max(d for d in last_days if pd.notna(d))) + 1

    # usage: the rows of the longest usage window, deduped, and the first enablement use
    usage = usage[usage["activity_day"] < as_of]
    longest = max(
        window["adoption"],
        window["breadth"],
        2 * window["usage_trend"],
        window["enablement"],
        window["support_burden"],
    )
    key = ["account_id", "activity_day", "user_id", "feature"]
    recent = newest(usage[usage["activity_day"] >= as_of - longest], key)
    recent = recent.assign(feature=recent["feature"].str.lower())
    is_enablement = pd.Series(False, index=recent.index)
    for pattern in cfg["enablement_features"]["feature_pattern"]:
        is_enablement |= like(recent["feature"], pattern)
    recent["enablement_events"] = recent["event_count"].where(is_enablement, 0)
    enablement_rows = pd.Series(False, index=usage.index)
    lowered = usage["feature"].str.lower()
    for pattern in cfg["enablement_features"]["feature_pattern"]:
        enablement_rows |= like(lowered, pattern)
    enablement_history = newest(usage[enablement_rows], key)
    used = enablement_history.loc[enablement_history["event_count"] > 0, "activity_day"]
    first_enablement = int(used.min()) if len(used) else None

    # customers on the scoring date
    churned = outcomes[outcomes["event_type"] == "churned"]
    reactivated = outcomes[outcomes["event_type"] == "reactivated"]
    spells = churned.merge(
        reactivated[["account_id", "event_day"]].rename(columns={"event_day": "back_day"}),
        on="account_id",
        how="left",
    )
    spells["back_day"] = spells["back_day"].where(spells["back_day"] > spells["event_day"])
    spells = spells.groupby(["account_id", "event_day"], as_index=False)["back_day"].min()
    churned_now = spells[
        (as_of > spells["event_day"]) & (spells["back_day"].isna() | (as_of <= spells["back_day"]))
    ]["account_id"]
    customers = accounts[
        (accounts["signup_day"] < as_of) & ~accounts["account_id"].isin(churned_now)
    ].copy()
    customers["lifecycle_stage"] = np.where(
        as_of - customers["signup_day"] < int(settings["onboarding_days"]), "onboarding", "mature"
    )
    customers = customers.set_index("account_id")
    seats = customers["licensed_seats"].astype("float64")

    def per_account(frame: pd.DataFrame, column: str, how: str = "sum") -> pd.Series:
        grouped = frame.groupby("account_id")[column]
        values = getattr(grouped, how)()
        return values.reindex(customers.index)

    raw: dict[str, pd.Series] = {}

    # adoption
    adoption_rows = recent[in_window(recent["activity_day"], as_of, window["adoption"])]
    active_users = per_account(adoption_rows, "user_id", "nunique").fillna(0)
    active_days = per_account(adoption_rows, "activity_day", "nunique").fillna(0)
    user_days = per_account(
        adoption_rows[adoption_rows["user_id"].notna()], "activity_day", "nunique"
    ).fillna(0)
    raw["adoption"] = pd.Series(
        np.select(
            [user_days > 0, active_days > 0],
            [active_users / seats.where(seats != 0), active_days / window["adoption"]],
            0.0,
        ),
        index=customers.index,
    )

    # breadth: features used / the features anyone used in the window
    breadth_rows = recent[in_window(recent["activity_day"], as_of, window["breadth"])]
    catalogue = breadth_rows["feature"].nunique()
    features_used = per_account(breadth_rows, "feature", "nunique").fillna(0)
    raw["breadth"] = features_used / catalogue if catalogue else features_used * np.nan

    # usage_trend
    w = window["usage_trend"]
    last = per_account(recent[in_window(recent["activity_day"], as_of, w)], "event_count")
    previous = per_account(
        recent[in_window(recent["activity_day"], as_of, 2 * w, w + 1)], "event_count"
    ).fillna(0)
    raw["usage_trend"] = last.fillna(0) / previous.where(previous != 0)

    # enablement
    enablement_rows = recent[in_window(recent["activity_day"], as_of, window["enablement"])]
    enablement_events = per_account(enablement_rows, "enablement_events").fillna(0)
    if first_enablement is None or as_of <= first_enablement:
        raw["enablement"] = pd.Series(np.nan, index=customers.index)
    else:
        raw["enablement"] = (enablement_events > 0).astype("float64")

    # support_burden: weighted tickets per 10 seats, missing for a silent account
    weights = cfg["ticket_weights"].assign(weight=lambda d: d["weight"].astype(float))
    priority_w = weights[weights["attribute"] == "priority"].set_index("value")["weight"]
    category_w = weights[weights["attribute"] == "category"].set_index("value")["weight"]
    w = window["support_burden"]
    opened = tickets[in_window(tickets["opened_day"], as_of, w)]
    opened = opened.assign(
        weight=opened["priority"].fillna("").map(priority_w).fillna(1.0).astype(float)
        * opened["category"].fillna("").map(category_w).fillna(1.0).astype(float)
    )
    weighted_tickets = per_account(opened, "weight").fillna(0)
    usage_events = per_account(
        recent[in_window(recent["activity_day"], as_of, w)], "event_count"
    ).fillna(0)
    raw["support_burden"] = (10.0 * weighted_tickets / seats.where(seats != 0)).where(
        usage_events > 0
    )

    # support_csat
    rated = tickets[
        tickets["csat"].notna() & in_window(tickets["rated_day"], as_of, window["support_csat"])
    ]
    raw["support_csat"] = per_account(rated, "csat", "mean")

    # nps and survey_csat
    nps = responses[
        (responses["survey_type"] == "nps")
        & in_window(responses["responded_day"], as_of, window["nps"])
    ]
    nps = nps.assign(points=np.select([nps["score"] >= 9, nps["score"] <= 6], [100.0, -100.0], 0))
    raw["nps"] = per_account(nps, "points", "mean")
    csat = responses[
        (responses["survey_type"] == "csat")
        & in_window(responses["responded_day"], as_of, window["survey_csat"])
    ]
    raw["survey_csat"] = per_account(csat, "score", "mean")

    # payment: on-time share of the invoices due in the window x (1 - share overdue)
    live = invoices[invoices["status"] != "void"]
    due = live[in_window(live["due_day"], as_of, window["payment"])]
    overdue_days = int(settings["payment_overdue_days"])
    due = due.assign(
        on_time=(due["paid_day"].notna() & (due["paid_day"] <= due["due_day"])).astype(float),
        overdue=due["amount"].where(
            (due["due_day"] + overdue_days + 1 <= as_of)
            & (due["paid_day"].isna() | (as_of <= due["paid_day"])),
            0.0,
        ),
    )
    invoices_due = per_account(due, "on_time", "count").fillna(0)
    on_time = per_account(due, "on_time").fillna(0)
    amount_due = per_account(due, "amount")
    overdue = per_account(due, "overdue").fillna(0)
    overdue_share = (overdue / amount_due.where(amount_due != 0)).fillna(0.0)
    raw["payment"] = ((on_time / invoices_due) * (1.0 - overdue_share).clip(lower=0.0)).where(
        invoices_due > 0
    )

    # revenue_trend: the mean daily run-rate (each invoice spread over the service period it
    # bills) over the last window / over the window before; sums in exact millionths
    w = window["revenue_trend"]
    periods = service_periods(live, accounts)
    billed_last = per_account(billed_in_window(periods, as_of - w, as_of - 1), "billed")
    billed_previous = per_account(billed_in_window(periods, as_of - 2 * w, as_of - w - 1), "billed")
    billed_last = billed_last.fillna(0).astype("float64") / 1e6
    billed_previous = billed_previous.fillna(0).astype("float64") / 1e6
    raw["revenue_trend"] = billed_last / billed_previous.where(billed_previous != 0)

    # csm_sentiment / renewal_intent: the assessment in force on the scoring date
    a = assessments.sort_values(["account_id", "assessed_at"])
    next_day = a.groupby("account_id")["assessed_day"].shift(-1)
    valid_to = a["valid_until_day"].fillna(a["assessed_day"] + window["csm_sentiment"])
    valid_to = next_day.where(next_day.notna() & (next_day < valid_to), valid_to)
    in_force = a[(a["assessed_day"] + 1 <= as_of) & (as_of <= valid_to)]
    in_force = in_force.drop_duplicates("account_id").set_index("account_id")
    raw["csm_sentiment"] = in_force["sentiment"].reindex(customers.index)
    labels = in_force["renewal_intent"].reindex(customers.index)

    # normalise every signal by its method, then the missing-data policy
    bands = cfg["signal_bands"]
    scores, has_data = {}, {}
    for signal, conf in signals.iterrows():
        method = conf["method"]
        if method == "bands":
            points = bands[bands["signal"] == signal].set_index("band")["points"].astype(float)
            score = labels.map(points).astype("float64")
        else:
            value = raw[signal].astype("float64")
            if method in ("threshold", "trend"):
                lo, hi = float(conf["at_risk_value"]), float(conf["healthy_value"])
                score = 100.0 * ((value - lo) / (hi - lo)).clip(0.0, 1.0)
            elif method == "boolean":
                score = pd.Series(np.where(value > 0, 100.0, 0.0), index=value.index)
                score = score.where(value.notna())
            elif method == "percentile":
                frame = pd.DataFrame({"value": value, "segment": customers["segment"]})
                ranks = frame.groupby("segment", dropna=False)["value"].rank(method="average")
                counts = frame.groupby("segment", dropna=False)["value"].transform("count")
                score = 100.0 * (ranks - 0.5) / counts
            else:
                raise ValueError(f"unknown method {method!r} for signal {signal}")
        has_data[signal] = score.notna()
        policy = conf["missing_policy"]
        if policy == "neutral":
            score = score.fillna(50.0)
        elif policy == "zero":
            score = score.fillna(0.0)
        scores[signal] = score
    long = pd.DataFrame(scores).stack(future_stack=True).rename("signal_score").reset_index()
    long.columns = ["account_id", "signal", "signal_score"]
    long["has_data"] = pd.DataFrame(has_data).stack(future_stack=True).to_numpy()

    # the preset of each customer (a segment row beats '*'; 'default' = the run's preset)
    assignments = cfg["preset_assignments"]

    def preset_of(stage: str, segment: object) -> str:
        rows = assignments[assignments["lifecycle_stage"] == stage]
        specific = rows[rows["segment"].str.lower() == segment]
        chosen = specific if len(specific) else rows[rows["segment"] == "*"]
        if not len(chosen):
            return preset
        name = chosen["preset"].iloc[0]
        return preset if name == "default" else name

    customers["preset"] = [
        preset_of(stage, segment)
        for stage, segment in zip(customers["lifecycle_stage"], customers["segment"], strict=True)
    ]

    # hierarchical renormalisation over the signals, then the dimensions, that have a score
    weights = cfg["preset_weights"].assign(
        dimension_weight=lambda d: d["dimension_weight"].astype(float),
        signal_weight=lambda d: d["signal_weight"].astype(float),
    )
    long["preset"] = long["account_id"].map(customers["preset"])
    weighted = long.merge(weights, on=["preset", "signal"])
    weighted["scored_weight"] = weighted["signal_weight"].where(weighted["signal_score"].notna())
    weighted["points"] = weighted["signal_weight"] * weighted["signal_score"]
    dims = weighted.groupby(["account_id", "dimension"], as_index=False).agg(
        dimension_weight=("dimension_weight", "max"),
        scored_signal_weight=("scored_weight", "sum"),
        points=("points", "sum"),
    )
    dims["scored_signal_weight"] = dims["scored_signal_weight"].where(
        dims["scored_signal_weight"] > 0
    )
    dims["dimension_score"] = dims["points"] / dims["scored_signal_weight"]
    dims["scored_dimension_weight"] = (
        dims["dimension_weight"]
        .where(dims["dimension_score"].notna())
        .groupby(dims["account_id"])
        .transform("sum")
    )
    weighted = weighted.merge(
        dims[["account_id", "dimension", "scored_signal_weight", "scored_dimension_weight"]],
        on=["account_id", "dimension"],
    )
    weighted["effective_weight"] = np.where(
        weighted["signal_score"].notna(),
        weighted["dimension_weight"]
        / weighted["scored_dimension_weight"]
        * weighted["signal_weight"]
        / weighted["scored_signal_weight"],
        0.0,
    )
    weighted["contribution"] = weighted["effective_weight"] * weighted["signal_score"].fillna(0)
    weighted["covered"] = np.where(
        weighted["has_data"], weighted["dimension_weight"] * weighted["signal_weight"], 0.0
    )
    totals = weighted.groupby("account_id").agg(
        effective=("effective_weight", "sum"),
        contribution=("contribution", "sum"),
        coverage=("covered", "sum"),
    )
    computed = totals["contribution"].where(totals["effective"] > 0).round(2)

    out = pd.DataFrame(
        {
            "account_id": customers.index,
            "score_date": (pd.Timestamp("1970-01-01") + pd.Timedelta(days=as_of)).date(),
            "preset": customers["preset"].to_numpy(),
            "computed_score": computed.reindex(customers.index).to_numpy(),
            "coverage": totals["coverage"].round(6).reindex(customers.index).to_numpy(),
        }
    )
    out["tier"] = tier_of(out["computed_score"], cfg["tier_bands"])
    return out.sort_values("account_id", ignore_index=True)[
        ["account_id", "score_date", "preset", "computed_score", "tier", "coverage"]
    ]


def tier_of(score: pd.Series, bands: pd.DataFrame) -> pd.Series:
    tier = pd.Series("unscored", index=score.index, dtype=object)
    for band in bands.itertuples():
        lo, hi = float(band.lower_bound), float(band.upper_bound)
        above = (score > lo) | ((band.lower_inclusive == "true") & (score == lo))
        below = (score < hi) | ((band.upper_inclusive == "true") & (score == hi))
        tier[above & below] = band.tier
    return tier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reference_pandas")
    parser.add_argument("--exports-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="CSV of the scores")
    parser.add_argument("--preset", default="hbr")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scores = current_scores(args.exports_dir, args.preset)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scores.to_csv(args.out, index=False)
    print(
        f"pandas reference: {len(scores):,} accounts scored on {scores['score_date'].iloc[0]} "
        f"in {time.perf_counter() - started:.1f} s -> {args.out}"
        if len(scores)
        else "pandas reference: no customer to score"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
