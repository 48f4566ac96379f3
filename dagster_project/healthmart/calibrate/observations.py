"""The time split and the observations: labelled account-days read from the warehouse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np

from healthmart.calibrate.defaults import DEFAULT_TRAIN_EVERY_DAYS, SQL_NAME, CalibrationError


@dataclass(frozen=True)
class TimeSplit:
    """Scoring dates used: train first_date..train_end (every train_every_days-th date),
    test test_start..last_date; test_start - train_end >= horizon_days."""

    first_date: date
    train_end: date
    test_start: date
    last_date: date
    horizon_days: int
    train_every_days: int

    @property
    def gap_days(self) -> int:
        return (self.test_start - self.train_end).days


def time_split(
    first_date: date,
    last_date: date,
    horizon_days: int,
    train_share: float = 0.7,
    train_every_days: int = DEFAULT_TRAIN_EVERY_DAYS,
) -> TimeSplit:
    """Split the observable scoring dates first_date..last_date (whose horizon lies inside the
    data) at train_share of the span: the test period starts there, the training period ends
    horizon_days before it, so a training label (churn in [date, date + H)) never reaches
    into the test period."""
    if not 0 < train_share < 1:
        raise CalibrationError(f"train share must be between 0 and 1, got {train_share}")
    if horizon_days < 1 or train_every_days < 1:
        raise CalibrationError("horizon and training stride must be at least 1 day")
    span = (last_date - first_date).days
    test_start = first_date + timedelta(days=round(train_share * span))
    train_end = test_start - timedelta(days=horizon_days)
    if span < 1 or train_end < first_date or test_start > last_date:
        raise CalibrationError(
            f"The observable scoring dates {first_date} .. {last_date} are too short for a "
            f"time split with a {horizon_days}-day horizon and gap (train share {train_share})."
        )
    return TimeSplit(first_date, train_end, test_start, last_date, horizon_days, train_every_days)


@dataclass
class Observations:
    """Account-days of the split, one row each: the label, the signal scores, the presets."""

    is_test: np.ndarray  # bool
    day: np.ndarray  # int32, days since split.first_date
    account: np.ndarray  # int32 code of the account
    churned: np.ndarray  # int8: churned within the horizon after the scoring date
    scores: dict[str, np.ndarray]  # signal score after the missing policy, NaN = no score
    has_data: dict[str, np.ndarray]  # bool
    preset_scores: dict[str, np.ndarray]  # overall score of every preset in the warehouse

    def rows(self, mask: np.ndarray) -> Observations:
        return Observations(
            is_test=self.is_test[mask],
            day=self.day[mask],
            account=self.account[mask],
            churned=self.churned[mask],
            scores={k: v[mask] for k, v in self.scores.items()},
            has_data={k: v[mask] for k, v in self.has_data.items()},
            preset_scores={k: v[mask] for k, v in self.preset_scores.items()},
        )


def _identifier(name: str) -> str:
    if not SQL_NAME.match(name):
        raise CalibrationError(f"Unexpected signal or preset name {name!r}")
    return name


# The whole history, one row per account-day: every signal's score (signal_score__<signal>,
# has_data__<signal>: the mart, as published; int_signal_scores__normalised holds a run's
# dates only) and every preset's overall score (score__<preset>). The signals and presets are
# the columns' names.
SIGNAL_SCORES_TABLE = ("marts", "fct_signal_scores_wide")
PRESET_SCORES_TABLE = ("intermediate", "int_health_scores__weighted")
SIGNAL_SCORE_PREFIX = "signal_score__"
PRESET_SCORE_PREFIX = "score__"


def _table(schema_and_name: tuple[str, str]) -> str:
    return ".".join(schema_and_name)


def observable_span(con: duckdb.DuckDBPyConnection, horizon_days: int) -> tuple[date, date]:
    """First and last scoring date whose full horizon lies inside the data
    (score_date + H - 1 <= last_activity_date)."""
    signal_scores = _table(SIGNAL_SCORES_TABLE)
    first, last_scored, last_activity = con.execute(
        f"""
        select
            (select min(score_date) from {signal_scores}),
            (select max(score_date) from {signal_scores}),
            (select max(last_activity_date) from intermediate.int_exports__date_bounds)
        """
    ).fetchone()
    if first is None or last_activity is None:
        raise CalibrationError("The warehouse has no signal scores: run `make run` first.")
    last = min(last_scored, last_activity - timedelta(days=horizon_days - 1))
    if last < first:
        raise CalibrationError(
            f"No scoring date has a full {horizon_days}-day horizon inside the data "
            f"(scores {first} .. {last_scored}, last activity {last_activity})."
        )
    return first, last


def column_names(con: duckdb.DuckDBPyConnection, table: tuple[str, str], prefix: str) -> list[str]:
    """The names after `prefix` of the columns of a wide table that start with it, sorted:
    the signals of signal_score__<signal>, the presets of score__<preset>."""
    rows = con.execute(
        """
        select column_name
        from information_schema.columns
        where table_schema = ? and table_name = ? and starts_with(column_name, ?)
        """,
        [*table, prefix],
    ).fetchall()
    return sorted(_identifier(name.removeprefix(prefix)) for (name,) in rows)


def signal_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every signal scored in the warehouse (a signal_score__<signal> column)."""
    return column_names(con, SIGNAL_SCORES_TABLE, SIGNAL_SCORE_PREFIX)


def preset_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every preset scored in the warehouse (a score__<preset> column)."""
    return column_names(con, PRESET_SCORES_TABLE, PRESET_SCORE_PREFIX)


def observation_sql(signals: Sequence[str], presets: Sequence[str], split: TimeSplit) -> str:
    """One query: the account-days of the split with their signals' scores, the presets'
    scores and the churn label beside them (the account also as a number, the code numpy
    keeps)."""
    first, train_end = split.first_date.isoformat(), split.train_end.isoformat()
    test_start, last = split.test_start.isoformat(), split.last_date.isoformat()
    in_split = f"""(
            (score_date between date '{first}' and date '{train_end}'
                and date_diff('day', date '{first}', score_date) % {split.train_every_days} = 0)
            or score_date between date '{test_start}' and date '{last}'
        )"""
    signal_columns = "".join(
        f',\n        {SIGNAL_SCORE_PREFIX}{s} as "score__{s}",'
        f'\n        coalesce(has_data__{s}, false) as "has_data__{s}"'
        for s in map(_identifier, signals)
    )
    preset_columns = "".join(
        f',\n        {PRESET_SCORE_PREFIX}{p} as "preset__{p}"' for p in map(_identifier, presets)
    )
    return f"""
with

wide_signals as (
    select
        account_id,
        score_date{signal_columns}
    from {_table(SIGNAL_SCORES_TABLE)}
    where {in_split}
),

wide_presets as (
    select
        account_id,
        score_date{preset_columns}
    from {_table(PRESET_SCORES_TABLE)}
    where {in_split}
),

churn_spells as (
    select account_id, churned_on from intermediate.int_accounts__churn_spells
),

churned as (
    select distinct wide_signals.account_id, wide_signals.score_date
    from wide_signals
    inner join churn_spells
        on wide_signals.account_id = churn_spells.account_id
        and churn_spells.churned_on >= wide_signals.score_date
        and churn_spells.churned_on < wide_signals.score_date + {split.horizon_days}
)

select
    wide_signals.account_id,
    wide_signals.score_date >= date '{test_start}' as is_test,
    cast(date_diff('day', date '{first}', wide_signals.score_date) as integer) as day,
    cast(dense_rank() over (order by wide_signals.account_id) as integer) as account,
    cast(case when churned.account_id is null then 0 else 1 end as tinyint) as churned,
    wide_signals.* exclude (account_id, score_date),
    wide_presets.* exclude (account_id, score_date)
from wide_signals
left join wide_presets
    on wide_signals.account_id = wide_presets.account_id
    and wide_signals.score_date = wide_presets.score_date
left join churned
    on wide_signals.account_id = churned.account_id
    and wide_signals.score_date = churned.score_date
order by wide_signals.score_date, wide_signals.account_id
"""


def _floats(column: np.ndarray) -> np.ndarray:
    return np.ma.filled(np.ma.asarray(column).astype(np.float32), np.nan)


def load_observations(
    con: duckdb.DuckDBPyConnection,
    signals: Sequence[str],
    presets: Sequence[str],
    split: TimeSplit,
) -> Observations:
    """Run the observation query and pull its columns into numpy (float32 scores)."""
    query = observation_sql(signals, presets, split)
    data = con.execute(f"select * exclude (account_id) from ({query})").fetchnumpy()
    return Observations(
        is_test=np.ma.filled(np.ma.asarray(data["is_test"]), False).astype(bool),
        day=np.asarray(data["day"], dtype=np.int32),
        account=np.asarray(data["account"], dtype=np.int32),
        churned=np.asarray(data["churned"], dtype=np.int8),
        scores={s: _floats(data[f"score__{s}"]) for s in signals},
        has_data={
            s: np.ma.filled(np.ma.asarray(data[f"has_data__{s}"]), False).astype(bool)
            for s in signals
        },
        preset_scores={p: _floats(data[f"preset__{p}"]) for p in presets},
    )
