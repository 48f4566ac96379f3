"""The dbt project as Dagster sees it, and its manifest (`dbt parse`).

The manifest is built when it is missing, as the code location loads (`dagster dev`,
`dagster definitions validate`, the daemon on a fresh clone); `healthmart run` and
`healthmart parse` rebuild it every time (the models may have changed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from healthmart.core.settings import DBT_PROJECT_DIR, Settings

# DBT_TARGET_PATH (dbt's own variable) moves the manifest, e.g. for a read-only checkout.
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=os.environ.get("DBT_TARGET_PATH") or "target",
)


def dbt_executable() -> str:
    """The dbt installed beside this Python (the project's venv), else `dbt` from PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def parse_dbt(settings: Settings) -> Path:
    """Build the dbt manifest (`dbt parse`) that the Dagster definitions load."""
    env = {**os.environ, **settings.dbt_env()}
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
    return Path(dbt_project.manifest_path)


if not Path(dbt_project.manifest_path).exists():
    parse_dbt(Settings.from_env())
