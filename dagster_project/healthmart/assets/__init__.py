"""Dagster assets: one ingest asset per export, the dbt project, the serving file."""
