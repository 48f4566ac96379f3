"""`make bench`: how long the pipeline takes at three scales, against two references.

For each scale (S, M, L) the harness generates the sample exports once (reused by later
runs), then measures, each command as its own process (wall clock, peak RSS of its tree):

- `sql`: reference (a), one hand-written DuckDB script scoring the latest date straight from
  the export files (benchmarks/reference.sql): the practical limit;
- `pandas`: reference (b), the same in plain pandas: what an analyst would otherwise write;
- `history`: reference (c), one hand-written DuckDB script scoring EVERY scoring date of every
  account straight from the export files (benchmarks/reference_history.sql), written to
  Parquet: the practical limit of a full build;
- `full`: `healthmart run` on a fresh warehouse: ingest and every scoring date, publication,
  summary and report;
- `current_day`: `healthmart run --score-from latest` on a fresh warehouse: ingest, and the
  latest scoring date only (with the date 30 days before it, which the 30-day drivers read);
- `backfill`: `healthmart run --score-from <date>` on a fresh warehouse scoring the last
  --backfill-days dates (30): the per-date work of the full build on part of the history,
  with the size of the warehouse and serving file it leaves;
- `incremental`: after the full build (else after the current-day build, which the results
  say), one more day of exports lands (the rows of the last day of each event source copied
  one day later, with new keys) and `healthmart run` runs again.

Checks (they fail the run loudly): the SQL and pandas references agree with each other, and
with `marts.fct_health_scores.computed_score` of the latest date of the full build (and of the
current-day build, and of the incremental run on the exports with the new day), within 0.01;
the full-history reference agrees with the SQL reference on the latest date and with the full
build on every account-day (benchmarks.checks).

Each pipeline step records the sizes of the warehouse and serving file it leaves and the
account-days published in marts.fct_health_scores (the report divides one by the other).
Commands and paths are recorded relative to the project folder.

Results merge into docs/benchmark.json (one entry per scale; steps not run keep their last
figures) and docs/benchmark.md is rewritten from it.

    python -m benchmarks --scales S            # everything at S
    python -m benchmarks --scales M --steps sql,pandas
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from benchmarks.checks import (
    compare,
    compare_history,
    history_scores,
    parquet_rows,
    pipeline_scores,
    published_account_days,
)
from benchmarks.exports import (
    add_new_day,
    ensure_exports,
    last_activity_date,
    linked_copy,
    python,
)
from benchmarks.measure import Measurement, run_measured
from benchmarks.report import write_markdown
from healthmart.core.settings import PROJECT_ROOT, Settings

SCALES: dict[str, dict[str, int]] = {
    "S": {"accounts": 2_000, "months": 18},
    "M": {"accounts": 100_000, "months": 12},
    "L": {"accounts": 1_000_000, "months": 12},
}
STEPS = ("sql", "pandas", "history", "full", "current_day", "backfill", "incremental")


# ------------------------------------------------------------------------------------------
# Disk
# ------------------------------------------------------------------------------------------
def full_build_disk_estimate(exports: Path, backfill: dict, current_day: dict) -> int | None:
    """Bytes a full build would leave (warehouse, serving file and the serving file's
    temporary copy) for every scoring date (from the first activity + 30 days of warm-up to
    the day after the last): the current-day build's files (the exports loaded, one date)
    plus, per further date, what the backfill's files add over them."""
    if not backfill.get("days") or backfill["days"] < 2:
        return None

    def files(step: dict) -> int | None:
        if not step.get("warehouse_bytes"):
            return None
        return step["warehouse_bytes"] + 2 * (step.get("serving_bytes") or 0)

    total, base = files(backfill), files(current_day) or 0
    if total is None:
        return None
    dates = (last_activity_date(exports) - last_activity_date(exports, "min")).days + 1 - 30
    per_date = max(total - base, 0) / (backfill["days"] - 1)
    return int(base + per_date * (max(dates, backfill["days"]) - 1))


# ------------------------------------------------------------------------------------------
# One scale
# ------------------------------------------------------------------------------------------
HISTORY_MEMORY_LIMIT = "4GB"


def history_memory_limit(pipeline_limit: str) -> str:
    """The full-history reference's DuckDB memory limit: HISTORY_MEMORY_LIMIT, or the
    pipeline's when that is larger (a limit DuckDB does not parse is passed on as it is)."""
    units = {"KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}

    def size(text: str) -> float | None:
        value = text.strip().upper().replace("I", "").removesuffix("B") + "B"
        for unit, factor in units.items():
            if value.endswith(unit):
                try:
                    return float(value[: -len(unit)]) * factor
                except ValueError:
                    return None
        return None

    ours, theirs = size(HISTORY_MEMORY_LIMIT), size(pipeline_limit)
    if ours is None or theirs is None:
        return pipeline_limit
    return pipeline_limit if theirs > ours else HISTORY_MEMORY_LIMIT


def pipeline_env(run_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HEALTHMART_EXPORTS_DIR": str(run_dir / "exports"),
        "HEALTHMART_WAREHOUSE_PATH": str(run_dir / "warehouse.duckdb"),
        "HEALTHMART_SERVING_PATH": str(run_dir / "serving" / "healthmart.duckdb"),
        "HEALTHMART_REPORT_PATH": str(run_dir / "health_report.html"),
        "DAGSTER_HOME": str(run_dir / "dagster_home"),
    }


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.exists() else None


def healthmart_run(*args: str) -> list[str]:
    """The command line of `healthmart run` in this environment."""
    return [str(Path(python()).parent / "healthmart"), "run", *args]


def record_files(step: dict, run_dir: Path) -> None:
    """The sizes of the warehouse and serving file a measured run left, and the account-days
    published in its marts.fct_health_scores (none when the run left no such table)."""
    serving = run_dir / "serving" / "healthmart.duckdb"
    step["warehouse_bytes"] = _size(run_dir / "warehouse.duckdb")
    step["serving_bytes"] = _size(serving)
    try:
        step["account_days"] = published_account_days(serving) if serving.exists() else None
    except duckdb.Error:
        step["account_days"] = None


def project_relative(value: str) -> str:
    """An absolute path as a path relative to the project folder (the results must not hold
    this machine's folders); anything else as it is."""
    return os.path.relpath(value, PROJECT_ROOT) if os.path.isabs(value) else value


def fresh_run_dir(run_dir: Path, exports: Path) -> None:
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    linked_copy(exports, run_dir / "exports")


def bench_scale(name: str, args: argparse.Namespace) -> dict:
    """Measure one scale; the results files are updated after every step (a long run that is
    stopped keeps what it measured)."""
    spec = SCALES[name]
    scale_dir = args.workdir / name
    print(f"Scale {name}: {spec['accounts']:,} accounts, {spec['months']} months", flush=True)
    meta = ensure_exports(scale_dir, spec["accounts"], spec["months"], args.seed)
    exports = scale_dir / "exports"
    logs = scale_dir / "logs"
    preset = Settings.from_env().preset
    limits = {
        "timeout": args.timeout,
        "max_rss_bytes": int(args.max_rss_gb * 2**30) if args.max_rss_gb else None,
    }
    steps: dict[str, dict] = {}
    checks: dict[str, dict] = {}
    scores: dict[str, pd.DataFrame] = {}

    def entry_of() -> dict:
        return {
            "scale": name,
            "accounts": spec["accounts"],
            "months": spec["months"],
            "seed": args.seed,
            "rows": meta.get("rows", {}),
            "preset": preset,
            "steps": dict(steps),
            "checks": dict(checks),
        }

    def save(entry: dict) -> None:
        write_markdown(merge_results(args.results, [entry]), args.markdown)

    def measure(step: str, command: list[str], **kwargs) -> Measurement:
        print(f"  {step} ...", flush=True)
        m = run_measured(command, log_path=logs / f"{step}.log", **limits, **kwargs)
        entry = m.as_dict() | {
            "command": [project_relative(part) for part in m.command],
            "log": project_relative(m.log) if m.log else None,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        steps[step] = entry
        save(entry_of())
        state = "ok" if m.ok else (m.stopped or f"failed (exit {m.returncode})")
        print(
            f"    {m.seconds:8.1f} s   peak RSS {m.peak_rss_bytes / 2**20:8.0f} MiB   {state}",
            flush=True,
        )
        return m

    for ref, module in (("sql", "reference_sql"), ("pandas", "reference_pandas")):
        if ref in args.steps:
            out = scale_dir / "results" / f"{ref}_scores.csv"
            m = measure(
                ref,
                [
                    python(),
                    "-m",
                    f"benchmarks.{module}",
                    "--exports-dir",
                    str(exports),
                    "--out",
                    str(out),
                    "--preset",
                    preset,
                ],
            )
            if m.ok:
                scores[ref] = pd.read_csv(out)
    if "sql" in scores and "pandas" in scores:
        checks["sql_vs_pandas"] = compare(scores["sql"], scores["pandas"], "SQL vs pandas")

    history = scale_dir / "results" / "history_scores.parquet"
    history_ok = False
    if "history" in args.steps:
        # with HISTORY_MEMORY_LIMIT of DuckDB memory, at least the pipeline's (at the 3 GB
        # default it ran out of memory at M on a quiet machine: an aggregate that cannot spill)
        m = measure(
            "history",
            [
                python(),
                "-m",
                "benchmarks.reference_history",
                "--exports-dir",
                str(exports),
                "--out",
                str(history),
                "--preset",
                preset,
                "--memory-limit",
                history_memory_limit(Settings.from_env().duckdb_memory_limit),
            ],
        )
        history_ok = m.ok
        if m.ok:
            steps["history"]["account_days"] = parquet_rows(history)
            steps["history"]["out_bytes"] = _size(history)
            save(entry_of())
            if "sql" in scores:
                checks["history_vs_sql"] = compare(
                    history_scores(history), scores["sql"], "history vs sql (latest date)"
                )

    if "current_day" in args.steps:
        current_dir = scale_dir / "current_day"
        fresh_run_dir(current_dir, exports)
        env = pipeline_env(current_dir)
        m = measure(
            "current_day",
            healthmart_run("--score-from", "latest"),
            env=env,
        )
        record_files(steps["current_day"], current_dir)
        if m.ok:
            ours = pipeline_scores(current_dir / "serving" / "healthmart.duckdb")
            for ref in ("sql", "pandas"):
                if ref in scores:
                    checks[f"current_day_vs_{ref}"] = compare(
                        ours, scores[ref], f"current-day build vs {ref}"
                    )

    if "backfill" in args.steps:
        # the per-date build at this scale without the whole history: a fresh warehouse
        # scoring the last BACKFILL_DAYS dates (what the full build repeats for every date)
        backfill_dir = scale_dir / "backfill"
        fresh_run_dir(backfill_dir, exports)
        first = last_activity_date(exports) + timedelta(days=1 - args.backfill_days + 1)
        m = measure(
            "backfill",
            healthmart_run("--score-from", first.isoformat()),
            env=pipeline_env(backfill_dir),
        )
        steps["backfill"]["days"] = args.backfill_days
        record_files(steps["backfill"], backfill_dir)
        save(entry_of())
        if m.ok and "sql" in scores:
            ours = pipeline_scores(backfill_dir / "serving" / "healthmart.duckdb")
            checks["backfill_vs_sql"] = compare(ours, scores["sql"], "backfill vs sql")

    full_dir = scale_dir / "full"
    needed = full_build_disk_estimate(
        exports, steps.get("backfill", {}), steps.get("current_day", {})
    )
    free = shutil.disk_usage(scale_dir).free
    if "full" in args.steps and needed and needed > free:
        # the backfill showed that the full build's files would not fit on this disk
        steps["full"] = {
            "skipped": f"needs about {needed / 2**30:.0f} GiB of disk (scaled from the "
            f"backfill), {free / 2**30:.0f} GiB free",
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        print(f"  full: skipped ({steps['full']['skipped']})", flush=True)
        save(entry_of())
    elif "full" in args.steps:
        fresh_run_dir(full_dir, exports)
        env = pipeline_env(full_dir)
        m = measure("full", healthmart_run(), env=env)
        record_files(steps["full"], full_dir)
        save(entry_of())
        if m.ok:
            serving = full_dir / "serving" / "healthmart.duckdb"
            ours = pipeline_scores(serving)
            for ref in ("sql", "pandas"):
                if ref in scores:
                    checks[f"full_vs_{ref}"] = compare(ours, scores[ref], f"full build vs {ref}")
            if history_ok:
                checks["full_vs_history"] = compare_history(
                    serving, history, "full build vs history (every date)"
                )

    if "incremental" in args.steps:
        # after the full build of this run; else after its current-day build (a history of
        # one scored date: the publication and the history marts then have less to carry)
        base = next(
            (
                (step, run_dir)
                for step, run_dir in (
                    ("full", full_dir),
                    ("current_day", scale_dir / "current_day"),
                )
                if steps.get(step, {}).get("returncode") == 0 and not steps[step].get("stopped")
            ),
            None,
        )
        if base is None:
            print("  incremental: skipped (needs a full or current-day build of this run)")
        else:
            base_step, base_dir = base
            new_day = add_new_day(base_dir / "exports")
            print(f"  landed one more day of exports ({new_day}) after {base_step}", flush=True)
            env = pipeline_env(base_dir)
            m = measure("incremental", healthmart_run(), env=env)
            steps["incremental"]["new_day"] = new_day.isoformat()
            steps["incremental"]["after"] = base_step
            record_files(steps["incremental"], base_dir)
            save(entry_of())
            if m.ok:
                # the incremental run against the SQL reference on the exports with the new day
                out = scale_dir / "results" / "sql_scores_new_day.csv"
                check = run_measured(
                    [
                        python(),
                        "-m",
                        "benchmarks.reference_sql",
                        "--exports-dir",
                        str(base_dir / "exports"),
                        "--out",
                        str(out),
                        "--preset",
                        preset,
                    ],
                    log_path=logs / "sql_new_day.log",
                )
                if check.ok:
                    ours = pipeline_scores(base_dir / "serving" / "healthmart.duckdb")
                    checks["incremental_vs_sql"] = compare(
                        ours, pd.read_csv(out), "incremental run vs sql (new day)"
                    )

    entry = entry_of()
    save(entry)
    return entry


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------
def machine() -> dict:
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gib": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pd.__version__,
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def merge_results(path: Path, new: list[dict]) -> dict:
    """Merge this run's scales into the results file: steps and checks run now replace the
    earlier ones of the same scale; the others keep their last figures."""
    results = json.loads(path.read_text()) if path.exists() else {}
    scales = results.get("scales", {})
    for entry in new:
        old = scales.get(entry["scale"], {})
        same_data = all(old.get(k) == entry[k] for k in ("accounts", "months", "seed", "preset"))
        if old and same_data:
            entry["steps"] = {**old.get("steps", {}), **entry["steps"]}
            entry["checks"] = {**old.get("checks", {}), **entry["checks"]}
            entry["rows"] = entry["rows"] or old.get("rows", {})
        scales[entry["scale"]] = entry
    results["scales"] = {k: scales[k] for k in SCALES if k in scales}
    results["machine"] = machine()
    results["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["note"] = (
        "One run on one machine (say in the commit whether anything else ran): indicative "
        "figures, not a controlled measurement."
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scales", default="S", help="comma-separated: S, M, L (default S)")
    parser.add_argument(
        "--steps", default=",".join(STEPS), help=f"comma-separated, of: {', '.join(STEPS)}"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("HEALTHMART_BENCH_DIR") or PROJECT_ROOT / "data" / "bench"),
        help="scratch folder: exports, warehouses, logs (HEALTHMART_BENCH_DIR, data/bench)",
    )
    parser.add_argument("--results", type=Path, default=PROJECT_ROOT / "docs" / "benchmark.json")
    parser.add_argument("--markdown", type=Path, default=PROJECT_ROOT / "docs" / "benchmark.md")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--backfill-days",
        type=int,
        default=30,
        help="dates the backfill step scores (the last ones the data supports; default 30)",
    )
    parser.add_argument(
        "--timeout", type=float, default=3600, help="stop a command after this many seconds"
    )
    parser.add_argument(
        "--max-rss-gb", type=float, default=16, help="stop a command whose tree exceeds this"
    )
    args = parser.parse_args(argv)
    names = [s.strip().upper() for s in args.scales.split(",") if s.strip()]
    args.steps = {s.strip() for s in args.steps.split(",") if s.strip()}
    unknown = [n for n in names if n not in SCALES] + sorted(args.steps - set(STEPS))
    if unknown:
        parser.error(f"unknown scale or step: {', '.join(unknown)}")
    args.workdir = args.workdir.resolve()

    entries = [bench_scale(name, args) for name in names]
    print(f"Results: {args.results} and {args.markdown}")

    failed_checks = [
        f"{e['scale']}: {c['what']} ({c['mismatches']} mismatches)"
        for e in entries
        for c in e["checks"].values()
        if c["mismatches"]
    ]
    failed_steps = [
        f"{e['scale']}: {step} ({s.get('stopped') or 'exit ' + str(s['returncode'])})"
        for e in entries
        for step, s in e["steps"].items()
        if not s.get("skipped") and (s.get("returncode") != 0 or s.get("stopped"))
    ]
    for line in failed_steps:
        print(f"STEP DID NOT FINISH: {line}", file=sys.stderr)
    if failed_checks:
        for line in failed_checks:
            print(f"CHECK FAILED: {line}", file=sys.stderr)
        return 1
    return 0
