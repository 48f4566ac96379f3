"""Daily partitions keyed by scoring date: the score of day D uses the data before D."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

# The first scoring date Dagster can address. Scores are only computed where the exports
# have data (dbt clamps the requested range to it), so an early start costs nothing.
PARTITIONS_START = "2015-01-01"

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1)

# A backfill of many scoring dates is one run over the range: one ingest, one `dbt build`.
single_run = dg.BackfillPolicy.single_run()


def scoring_range(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The first and last scoring date of the run's partitions (None when unpartitioned)."""
    if not context.has_partition_key_range and not context.has_partition_key:
        return None
    window = context.partition_time_window
    start = _as_date(window.start)
    end = _as_date(window.end) - timedelta(days=1)
    return start, end


def _as_date(value: datetime) -> date:
    return value.date()
