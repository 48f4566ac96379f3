"""Automation: the daily job, its schedule, the new-exports sensor and failure alerts."""
