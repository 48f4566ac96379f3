"""The config seeds are validated by dbt tests: a broken config fails the build, by name.

Each case copies the dbt project and its seeds (parsed once) to a temporary folder, breaks
one CSV and runs `dbt build --select resource_type:seed` (the seeds and the tests on them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from healthmart.core.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from healthmart.defs.dbt.project import dbt_executable


@pytest.fixture(scope="module")
def parsed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dbt project and its seeds copied once and parsed: each case copies this parse
    along, so dbt re-parses only the seed file the case breaks."""
    root = tmp_path_factory.mktemp("parsed")
    shutil.copytree(
        DBT_PROJECT_DIR, root / "dbt_models", ignore=shutil.ignore_patterns("target", "logs")
    )
    shutil.copytree(PROJECT_ROOT / "seeds", root / "seeds")
    result = run_dbt(root / "dbt_models", "parse")
    assert result.returncode == 0, result.stdout[-3000:]
    return root


@pytest.fixture
def project(parsed_project: Path, tmp_path: Path) -> Path:
    """A copy of the parsed project of its own (its warehouse is made in its folder)."""
    shutil.copytree(parsed_project, tmp_path, dirs_exist_ok=True)
    return tmp_path / "dbt_models"


def run_dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # relative to the project folder: one path for every copy (a different one would
        # change the profile, and dbt would parse the whole project again)
        "HEALTHMART_WAREHOUSE_PATH": "warehouse.duckdb",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return subprocess.run(
        [
            dbt_executable(),
            *args,
            "--profiles-dir",
            str(project),
            "--project-dir",
            str(project),
            "--target-path",
            str(project / "target"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=project,
    )


def build_seeds(project: Path) -> subprocess.CompletedProcess[str]:
    # only the tests whose parents are all seeds (not the mart tests reading them)
    return run_dbt(
        project, "build", "--select", "resource_type:seed", "--indirect-selection", "cautious"
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_shipped_config_passes_validation(project: Path) -> None:
    result = build_seeds(project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ERROR=0" in result.stdout


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "dimension weights do not sum to 1": (
        lambda seeds: edit(
            seeds / "preset_weights.csv", "hbr,value_realisation,0.5,", "hbr,value_realisation,0.6,"
        ),
        "assert_preset_dimension_weights_sum_to_one",
    ),
    "signal weights of a dimension do not sum to 1": (
        lambda seeds: edit(
            seeds / "preset_weights.csv",
            "hbr,relationship,0.25,nps,0.25,",
            "hbr,relationship,0.25,nps,0.35,",
        ),
        "assert_preset_signal_weights_sum_to_one",
    ),
    "a gap between tier bands": (
        lambda seeds: edit(
            seeds / "tier_bands.csv", "attention,50,false,70,false", "attention,55,false,70,false"
        ),
        "assert_tier_bands_contiguous",
    ),
    "a preset names an unknown signal": (
        lambda seeds: edit(
            seeds / "preset_weights.csv",
            "vital_signs,financial,0.2,payment,",
            "vital_signs,financial,0.2,payments,",
        ),
        "assert_preset_signals_exist_in_signal_config",
    ),
    "a required value left empty": (
        lambda seeds: edit(
            seeds / "tier_bands.csv",
            "at_risk,30,true,50,true,orange,3",
            "at_risk,30,true,50,true,,3",
        ),
        "not_null_columns_tier_bands_",
    ),
    "a threshold signal without its healthy value": (
        lambda seeds: edit(
            seeds / "signal_config.csv",
            "adoption,usage,threshold,0.10,0.80,",
            "adoption,usage,threshold,0.10,,",
        ),
        "assert_signal_config_thresholds_set",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_config_fails_the_build_naming_the_rule(project: Path, case: str) -> None:
    breaker, failing_test = BROKEN[case]
    breaker(project.parent / "seeds")
    result = build_seeds(project)
    assert result.returncode != 0
    assert f"Failure in test {failing_test}" in result.stdout, result.stdout[-3000:]


def test_data_tests_of_per_date_models_check_the_run_s_dates() -> None:
    """Every data test of a model built per scoring date is scoped to the run's dates (a
    daily run's tests cost one day): it keeps the project's `where: "__run_dates__"`, which
    macros/run_dates_filter.sql turns into the run's score_date range. A singular test that
    reads such a model filters with run_dates_condition() itself."""
    import json

    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"]
    per_date = {uid for uid, n in nodes.items() if "per_scoring_date" in n.get("tags", [])}
    scoped, unscoped = [], []
    for uid, node in nodes.items():
        if node["resource_type"] != "test":
            continue
        parents = set(node["depends_on"]["nodes"]) & per_date
        if not parents:
            continue
        if node.get("attached_node"):  # a generic test on a model's column or key
            (scoped if node["config"].get("where") == "__run_dates__" else unscoped).append(uid)
        elif "run_dates_condition" in node["raw_code"]:
            scoped.append(uid)
        else:
            unscoped.append(node["name"])
    assert len(scoped) > 20
    # the singular tests that read only fct_health_current (a history summary) are exempt
    assert [u for u in unscoped if "fct_health_current" not in u] == []
