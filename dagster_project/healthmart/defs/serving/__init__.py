"""Serving: the published serving file and the run's record."""
