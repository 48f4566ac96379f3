"""docs/benchmark.md: the benchmark results (docs/benchmark.json) as tables."""

from __future__ import annotations

from pathlib import Path

HEADER = """# Benchmark

`make bench` (`python -m benchmarks`) generates the sample exports at each scale once,
then measures each command as its own process: wall clock and peak resident memory of the
process tree (sampled every 0.1 s). **{note}**

- **full build**: `healthmart run` on a fresh warehouse: ingest, every scoring date, publication,
  summary and report.
- **incremental run**: after the full build (marked † when after the current-day build instead:
  a history of one scored date), one more day of exports lands (the last day's rows
  of usage, billing, support, survey and CSM copied one day later, with new ids) and
  `healthmart run` runs again.
- **current-day build**: `healthmart run --score-from latest` on a fresh warehouse: ingest, and
  the latest scoring date only (dbt also scores the date 30 days before it, which the 30-day
  drivers and deltas read), publication, summary and report.
- **SQL limit**: reference (a), one hand-written DuckDB script scoring the latest date straight
  from the export files (`benchmarks/reference.sql`).
- **pandas**: reference (b), the same in plain pandas (`benchmarks/reference_pandas.py`).
- **history ref**: reference (c), one hand-written DuckDB script scoring every scoring date of
  every account straight from the export files, set-based, into a Parquet file
  (`benchmarks/reference_history.sql`), with 4 GB of DuckDB memory (or
  the pipeline's limit when larger): the practical limit of a full build.
- **backfill**: a fresh warehouse scoring the last dates only (below the main table).
- ratios: **ours / SQL** = current-day build ÷ SQL limit; **daily / SQL** = incremental run ÷
  SQL limit; **pandas / ours** = pandas ÷ current-day build; **incremental / full**;
  **full / history** = full build ÷ history ref (ours vs the full-history reference).

Both references compute what the pipeline computes for the latest scoring date (all twelve
signals, windows, normalisation, missing-data policies, the preset assigned by lifecycle stage,
renormalised weights) and are checked against `marts.fct_health_scores.computed_score`
(tolerance 0.01) in the same run; the full-history reference is checked against every
account-day of the full build (score within 0.01, same tier, preset and coverage).
"""


# the steps that leave files whose size per account-day the report shows
STORED_STEPS = (
    ("full", "full build"),
    ("incremental", "incremental run"),
    ("current_day", "current-day build"),
    ("backfill", "backfill"),
    ("history", "history ref (Parquet)"),
)


def _duration(step: dict | None) -> str:
    if not step:
        return "—"
    if step.get("skipped"):
        return "skipped ‡"
    if step.get("stopped"):
        return f"stopped ({step['stopped']})"
    if step.get("returncode"):
        return f"failed (exit {step['returncode']})"
    seconds = float(step["seconds"])
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _after(step: dict | None) -> str:
    return " †" if step and step.get("after") == "current_day" else ""


def _bytes(size: int | None) -> str:
    if not size:
        return "—"
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"


def _ok(step: dict | None) -> bool:
    return (
        bool(step)
        and not step.get("stopped")
        and not step.get("skipped")
        and not step.get("returncode")
    )


def _ratio(a: dict | None, b: dict | None) -> str:
    if not (_ok(a) and _ok(b)) or not float(b["seconds"]):
        return "—"
    ratio = float(a["seconds"]) / float(b["seconds"])
    return f"{ratio:.1f}×" if ratio >= 1 else f"{ratio:.2f}×"


def _per_account_day(size: int | None, account_days: int | None) -> str:
    return "—" if not size or not account_days else f"{size / account_days:,.1f} B"


def _dates(check: dict) -> str:
    dates = check["score_dates"]
    if check.get("dates", len(dates)) > 2:
        return f"{dates[0]} … {dates[-1]} ({check['dates']} dates)"
    return ", ".join(dates)


def _memory(step: dict | None) -> str:
    if not step or step.get("skipped"):
        return "—"
    mib = float(step["peak_rss_bytes"]) / 2**20
    text = f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.0f} MiB"
    return text if _ok(step) else f"{text} (at stop)"


def _measured_lines(results: dict) -> list[str]:
    """When each scale's steps were measured: a scale not run again keeps its last figures,
    and the table must not pass them off as this run's."""
    parts = []
    for name, e in results.get("scales", {}).items():
        days = sorted(
            {
                str(step["measured_at"])[:10]
                for step in e.get("steps", {}).values()
                if step.get("measured_at") and not step.get("skipped")
            }
        )
        if days:
            parts.append(f"{name} on {days[0]}" + (f" to {days[-1]}" if len(days) > 1 else ""))
    return [f"Measured: {'; '.join(parts)}.", ""] if parts else []


def render(results: dict) -> str:
    lines = [HEADER.format(note=results.get("note", "")).rstrip(), ""]
    m = results.get("machine", {})
    lines += [
        f"Machine: {m.get('cpus')} CPUs, {m.get('memory_gib')} GiB, {m.get('platform')}; "
        f"Python {m.get('python')}, DuckDB {m.get('duckdb')}, pandas {m.get('pandas')}. "
        f"Updated {results.get('updated_at')}.",
        "",
        *_measured_lines(results),
        "| scale | accounts × months | usage rows | all rows | full build | incremental run "
        "| current-day build | SQL limit | pandas | history ref | ours / SQL | daily / SQL "
        "| pandas / ours | incremental / full | full / history |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in results.get("scales", {}).items():
        s = e.get("steps", {})
        rows = e.get("rows", {})
        lines.append(
            f"| {name} | {e['accounts']:,} × {e['months']} | {rows.get('usage', 0):,} "
            f"| {sum(rows.values()):,} | {_duration(s.get('full'))} "
            f"| {_duration(s.get('incremental'))}{_after(s.get('incremental'))} "
            f"| {_duration(s.get('current_day'))} "
            f"| {_duration(s.get('sql'))} | {_duration(s.get('pandas'))} "
            f"| {_duration(s.get('history'))} "
            f"| {_ratio(s.get('current_day'), s.get('sql'))} "
            f"| {_ratio(s.get('incremental'), s.get('sql'))} "
            f"| {_ratio(s.get('pandas'), s.get('current_day'))} "
            f"| {_ratio(s.get('incremental'), s.get('full'))} "
            f"| {_ratio(s.get('full'), s.get('history'))} |"
        )
    skipped = [
        f"‡ {name} {step}: {s['skipped']}."
        for name, e in results.get("scales", {}).items()
        for step, s in e.get("steps", {}).items()
        if s.get("skipped")
    ]
    if skipped:
        lines += [""] + skipped
    lines += [
        "",
        "Peak memory (resident, whole process tree):",
        "",
        "| scale | full build | incremental run | current-day build | SQL limit | pandas "
        "| history ref |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in results.get("scales", {}).items():
        s = e.get("steps", {})
        lines.append(
            f"| {name} | {_memory(s.get('full'))} | {_memory(s.get('incremental'))} "
            f"| {_memory(s.get('current_day'))} | {_memory(s.get('sql'))} "
            f"| {_memory(s.get('pandas'))} | {_memory(s.get('history'))} |"
        )
    backfills = [
        (name, e["steps"]["backfill"])
        for name, e in results.get("scales", {}).items()
        if e.get("steps", {}).get("backfill")
    ]
    if backfills:
        lines += [
            "",
            "Backfill of the last dates on a fresh warehouse (`healthmart run --score-from "
            "<date>`): the per-date work of the full build on part of the history, and the "
            "files it leaves:",
            "",
            "| scale | dates | time | per date | peak memory | warehouse | serving file |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, b in backfills:
            per_date = (
                f"{float(b['seconds']) / b['days']:.1f} s" if _ok(b) and b.get("days") else "—"
            )
            lines.append(
                f"| {name} | {b.get('days', '—')} | {_duration(b)} | {per_date} "
                f"| {_memory(b)} | {_bytes(b.get('warehouse_bytes'))} "
                f"| {_bytes(b.get('serving_bytes'))} |"
            )
    storage = [
        (name, label, s[step])
        for name, e in results.get("scales", {}).items()
        for step, label in STORED_STEPS
        if (s := e.get("steps", {})).get(step, {}).get("account_days")
    ]
    if storage:
        lines += [
            "",
            "Storage per account-day: the files a step leaves on disk ÷ the account-days "
            "published in `marts.fct_health_scores` (for the full-history reference: its "
            "Parquet file ÷ the account-days it scored):",
            "",
            "| scale | step | account-days | warehouse | serving file | warehouse per "
            "account-day | serving per account-day |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for name, label, step in storage:
            days = step["account_days"]
            files = step.get("out_bytes") if "out_bytes" in step else step.get("serving_bytes")
            lines.append(
                f"| {name} | {label} | {days:,} | {_bytes(step.get('warehouse_bytes'))} "
                f"| {_bytes(files)} "
                f"| {_per_account_day(step.get('warehouse_bytes'), days)} "
                f"| {_per_account_day(files, days)} |"
            )
    lines += ["", "## Checks", ""]
    lines += [
        "| scale | check | score dates | account-days | mismatches | max abs diff |",
        "|---|---|---|---:|---:|---:|",
    ]
    for name, e in results.get("scales", {}).items():
        for c in e.get("checks", {}).values():
            lines.append(
                f"| {name} | {c['what']} | {_dates(c)} "
                f"| {c.get('account_days', c['accounts']):,} "
                f"| {c['mismatches']} | {c['max_abs_diff']:.4f} |"
            )
    not_run = [
        f"{name}: {step}"
        for name, e in results.get("scales", {}).items()
        for step in ("full", "incremental", "current_day", "sql", "pandas", "history")
        if step not in e.get("steps", {})
    ]
    if not_run:
        lines += ["", "Not measured (—): " + "; ".join(not_run) + "."]
    return "\n".join(lines) + "\n"


def write_markdown(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results))
