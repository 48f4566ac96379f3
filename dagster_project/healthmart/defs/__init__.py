"""The Dagster definitions, one folder per stage of the flow: ingest (export files to raw
tables), dbt (the run's plan and the dbt build), quality (the expectation suites as asset
checks), serving (the published file and the run's record), report (the HTML health report and
the terminal summary), automation (the daily job, its schedule, sensors and alerts)."""
