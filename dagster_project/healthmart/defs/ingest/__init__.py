"""Ingest: one asset per export, loading its files into the raw tables of the warehouse."""
