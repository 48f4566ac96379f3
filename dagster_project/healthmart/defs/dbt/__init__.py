"""dbt: the run's plan (the scoring dates) and the one dbt asset that builds the project."""
