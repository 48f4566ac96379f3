"""Data quality: Great Expectations suites (expectations/), validated on pandas batches that
DuckDB streams in Arrow record batches, as blocking Dagster asset checks.

* :mod:`healthmart.defs.quality.suites` – the suites: derived from the export contract and the mart
  contract, written to and read from ``expectations/*.json`` (GX 1.x serialisation);
* :mod:`healthmart.defs.quality.validate` – runs a suite against a DuckDB table with bounded memory;
* :mod:`healthmart.defs.quality.results` – ``quality.validation_results`` and the record of which
  export files have been validated.
"""
