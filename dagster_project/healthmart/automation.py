"""The daily job, its schedule, and a sensor that starts it when export files change."""

import hashlib
from datetime import date

import dagster as dg

from healthmart.resources import HealthmartSettings
from healthmart.run_range import range_tags, today

daily_health_job = dg.define_asset_job(
    name="daily_health_job",
    selection=dg.AssetSelection.all(),
    description=(
        "Ingest the exports, build and test the health mart, publish the serving file. The run "
        "tags healthmart/score_from and healthmart/score_to (YYYY-MM-DD) choose the scoring "
        "dates; without them every date the data supports is scored."
    ),
)


def todays_run(day: date, run_key: str | None = None) -> dg.RunRequest:
    """A run of the daily job scoring `day` (dbt clamps it to what the data supports)."""
    return dg.RunRequest(run_key=run_key, tags=range_tags(day, day))


@dg.schedule(
    job=daily_health_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    name="daily_health_schedule",
    description="Every day at 06:00 UTC: score the day (its data is the days before it).",
)
def daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return todays_run(context.scheduled_execution_time.date())


def exports_fingerprint(settings: HealthmartSettings) -> str:
    """A digest of every file's path, size and modification time under the exports folder."""
    exports_dir = settings.resolve().exports_dir
    digest = hashlib.sha256()
    if exports_dir.is_dir():
        for path in sorted(p for p in exports_dir.rglob("*") if p.is_file()):
            stat = path.stat()
            digest.update(
                f"{path.relative_to(exports_dir)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode()
            )
    return digest.hexdigest()


@dg.sensor(
    job=daily_health_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the daily job for today's scoring date when export files change.",
)
def new_exports_sensor(
    context: dg.SensorEvaluationContext, settings: HealthmartSettings
) -> dg.SensorResult | dg.SkipReason:
    fingerprint = exports_fingerprint(settings)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed export files")
    return dg.SensorResult(run_requests=[todays_run(today(), fingerprint)], cursor=fingerprint)
