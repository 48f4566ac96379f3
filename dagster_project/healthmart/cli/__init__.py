"""Command line: `healthmart run` (the daily job, headless), `summary`, `report`, `parse`,
`calibrate` (healthmart.cli.main)."""
