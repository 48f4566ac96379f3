"""The daily job, its schedule, and a sensor that starts it when export files change."""

import hashlib

import dagster as dg

from healthmart.partitions import daily_partitions
from healthmart.resources import HealthmartSettings

daily_health_job = dg.define_asset_job(
    name="daily_health_job",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Ingest the exports, build and test the health mart, publish the serving file.",
)

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_health_job, hour_of_day=6, minute_of_hour=0, name="daily_health_schedule"
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
    description="Runs the daily job for today's scoring date when export files change.",
)
def new_exports_sensor(
    context: dg.SensorEvaluationContext, settings: HealthmartSettings
) -> dg.SensorResult | dg.SkipReason:
    fingerprint = exports_fingerprint(settings)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed export files")
    partition_key = daily_partitions.get_last_partition_key()
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=fingerprint, partition_key=partition_key)],
        cursor=fingerprint,
    )
