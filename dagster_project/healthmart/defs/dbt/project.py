"""The dbt project as Dagster sees it, and its manifest (`dbt parse`).

The manifest is built when it is missing, as the code location loads (`dagster dev`,
`dagster definitions validate`, the daemon on a fresh clone); `healthmart parse` rebuilds it
every time, `healthmart run` whenever the dbt project, the seeds or dbt's settings changed
since the last parse (a fingerprint beside the manifest), so a daily run on an unchanged
project does not pay for a `dbt parse`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtProject

from healthmart.core.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings

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


# Folders of the dbt project that dbt writes, not reads.
_GENERATED = frozenset({"target", "logs", "dbt_packages"})
# The fingerprint of what the manifest was parsed from, beside it.
STAMP_NAME = "healthmart_parsed_from.txt"


def project_fingerprint(settings: Settings) -> str:
    """What a parse depends on: every file of the dbt project and of seeds/ (path, size,
    modification time), dbt's version, and the settings dbt reads (warehouse path, preset,
    threads, memory: a change of profile makes dbt parse everything again anyway)."""
    digest = hashlib.sha256()
    for root in (DBT_PROJECT_DIR, PROJECT_ROOT / "seeds"):
        for folder, subfolders, files in os.walk(root):
            if Path(folder) == DBT_PROJECT_DIR:
                subfolders[:] = [d for d in subfolders if d not in _GENERATED]
            subfolders.sort()
            for name in sorted(files):
                path = Path(folder) / name
                stat = path.stat()
                relative = path.relative_to(PROJECT_ROOT)
                digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    digest.update(f"dbt-core {version('dbt-core')}\n".encode())
    for key, value in sorted(settings.dbt_env().items()):
        digest.update(f"{key}={value}\n".encode())
    return digest.hexdigest()


def _stamp_path() -> Path:
    return Path(dbt_project.manifest_path).with_name(STAMP_NAME)


def parse_dbt(settings: Settings) -> Path:
    """Build the dbt manifest (`dbt parse`) that the Dagster definitions load."""
    fingerprint = project_fingerprint(settings)
    env = {**os.environ, **settings.dbt_env()}
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
    _stamp_path().write_text(fingerprint + "\n")
    return Path(dbt_project.manifest_path)


def manifest_is_current(settings: Settings) -> bool:
    """Whether the manifest was parsed from exactly what is there now (same files, same
    dbt, same settings), so that a new `dbt parse` would write the same."""
    manifest = Path(dbt_project.manifest_path)
    stamp = _stamp_path()
    return (
        manifest.exists()
        and stamp.exists()
        and stamp.read_text().strip() == project_fingerprint(settings)
    )


if not Path(dbt_project.manifest_path).exists():
    parse_dbt(Settings.from_env())
