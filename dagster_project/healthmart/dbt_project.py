"""The dbt project as Dagster sees it. Its manifest is built by `dbt parse` (see cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtProject

from healthmart.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt installed beside this Python (the project's venv), else `dbt` from PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"
