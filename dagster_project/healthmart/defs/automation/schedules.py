"""The daily job, its schedule, and a sensor that starts it when export files change."""

import hashlib

import dagster as dg

from healthmart.core.resources import HealthmartSettings
from healthmart.defs.automation.alerts import (
    ENV_ALERT_WEBHOOK,
    alert_webhook,
    failure_alert,
    post_alert,
    run_failures,
)

daily_health_job = dg.define_asset_job(
    name="daily_health_job",
    selection=dg.AssetSelection.all(),
    description=(
        "Ingest the exports, plan the scoring dates (the new days, the days late or corrected "
        "files changed; all history the first time), build and test the health mart, publish "
        "the serving file, record the run, write the report. Run tags: healthmart/restate=true "
        "rescores all history; healthmart/score_from and healthmart/score_to (YYYY-MM-DD) "
        "rescore that range."
    ),
)

daily_schedule = dg.ScheduleDefinition(
    name="daily_health_schedule",
    job=daily_health_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    description="Every day at 06:00 UTC: the daily job (its plan scores the new day, late data).",
)


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
    description="Runs the daily job (its plan decides the dates) when export files change.",
)
def new_exports_sensor(
    context: dg.SensorEvaluationContext, settings: HealthmartSettings
) -> dg.SensorResult | dg.SkipReason:
    fingerprint = exports_fingerprint(settings)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed export files")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=fingerprint)], cursor=fingerprint)


@dg.run_failure_sensor(
    name="run_failure_alert",
    monitored_jobs=[daily_health_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Posts a failed run of the daily job (the failed step and its first error, the blocking "
        "checks that failed, whether the previous serving file is still served) to the webhook "
        "in HEALTHMART_ALERT_WEBHOOK (Slack-compatible JSON); does nothing when it is unset."
    ),
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> dg.SkipReason | None:
    url = alert_webhook()
    if url is None:
        return dg.SkipReason(f"{ENV_ALERT_WEBHOOK} is not set: no alert sent")
    run = context.dagster_run
    steps, checks, published = run_failures(context.instance, run.run_id)
    status = post_alert(url, failure_alert(run.run_id, run.job_name, steps, checks, published))
    context.log.info(f"alert for run {run.run_id} posted ({status})")
    return None
