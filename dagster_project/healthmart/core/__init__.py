"""Shared plumbing of every stage: settings, Dagster resources, the export contract, the run
lock and the run's date range."""
