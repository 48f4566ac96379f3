"""Command line: `healthmart run` (the daily job, headless), `summary`, `report`, `parse`,
`inspect`.

The parser, and each command handed to the module that does it (`calibrate` too)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from healthmart.cli.run import run
from healthmart.core.contract import SOURCES
from healthmart.core.settings import PROJECT_ROOT, Settings
from healthmart.defs.dbt.project import parse_dbt


def score_from_arg(text: str) -> date | str:
    if text == "latest":
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date (YYYY-MM-DD) or 'latest', got {text!r}"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthmart", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run the daily job headless and print a summary")
    run_p.add_argument(
        "--exports-dir", help="landing folder (default: HEALTHMART_EXPORTS_DIR or data/exports)"
    )
    run_p.add_argument(
        "--serving-path",
        help="serving file (default: HEALTHMART_SERVING_PATH or data/healthmart.duckdb)",
    )
    run_p.add_argument("--preset", help="weighting preset: hbr, vital_signs or bigcommerce")
    run_p.add_argument(
        "--restate",
        action="store_true",
        help="rescore all history (e.g. after a config change), not only the dates that need it",
    )
    run_p.add_argument(
        "--score-from",
        type=score_from_arg,
        metavar="DATE|latest",
        help="score no date before DATE (ISO), or only the latest date the data supports: "
        "a first run on a long history without the backfill (default: every date needed)",
    )
    run_p.add_argument(
        "--ingest-config",
        help="ingest config file: column mapping, encoding, delimiter per source "
        "(default: HEALTHMART_INGEST_CONFIG, else config/ingest.yml if it exists)",
    )
    run_p.add_argument(
        "--sample",
        action="store_true",
        help="when the landing folder holds no export, generate sample exports there first "
        "(what `make run` does); without it an empty folder stops the run",
    )
    run_p.add_argument(
        "--sample-accounts", type=int, default=2000, help="accounts in generated sample exports"
    )
    run_p.add_argument(
        "--sample-months", type=int, default=18, help="months of generated sample exports"
    )
    run_p.add_argument(
        "--sample-seed", type=int, default=42, help="seed of generated sample exports"
    )
    sum_p = sub.add_parser("summary", help="print the summary of the published serving file")
    sum_p.add_argument("--serving-path")
    rep_p = sub.add_parser("report", help="write the HTML health report of the serving file")
    rep_p.add_argument("--serving-path")
    rep_p.add_argument(
        "--out", help="HTML file (default: HEALTHMART_REPORT_PATH or reports/health_report.html)"
    )
    sub.add_parser("parse", help="build the dbt manifest (dbt parse)")
    ins_p = sub.add_parser(
        "inspect",
        help="name the format preset an export file is read with, the mapping it applies and "
        "the first problems in it, without loading anything",
    )
    ins_p.add_argument("file", help="an export file (CSV, Parquet, NDJSON or JSON, may be .gz)")
    ins_p.add_argument(
        "--source", choices=list(SOURCES), help="its source (default: from its folder's name)"
    )
    ins_p.add_argument(
        "--ingest-config",
        help="ingest config file (default: HEALTHMART_INGEST_CONFIG, else config/ingest.yml)",
    )
    ins_p.add_argument(
        "--exports-dir",
        help="landing folder whose accounts and crosswalk exports the file's accounts are "
        "checked against (default: the folder holding the file's source folder)",
    )
    cal_p = sub.add_parser(
        "calibrate",
        help="fit signal weights to the churn history; write a proposed preset and a comparison",
    )
    cal_p.add_argument(
        "--warehouse-path",
        help="working warehouse, opened read-only (default: HEALTHMART_WAREHOUSE_PATH or "
        "data/warehouse.duckdb)",
    )
    cal_p.add_argument("--base-preset", default="hbr", help="preset whose dimensions to keep")
    cal_p.add_argument(
        "--horizon-days",
        type=int,
        help="churn horizon in days (default: churn_horizon_days of seeds/scoring_settings.csv)",
    )
    cal_p.add_argument(
        "--out", default="reports/calibration", help="output folder (default: reports/calibration)"
    )
    cal_p.add_argument(
        "--train-share", type=float, default=0.7, help="share of the span before the test period"
    )
    cal_p.add_argument("--seed", type=int, default=42, help="seed of the reference model")
    args = parser.parse_args(argv)

    if args.command == "run":
        settings = Settings.from_env(
            exports_dir=args.exports_dir,
            serving_path=args.serving_path,
            preset=args.preset,
            ingest_config=args.ingest_config,
        )
        return run(
            settings,
            args.sample_accounts,
            args.sample_months,
            args.sample_seed,
            args.restate,
            args.score_from,
            sample=args.sample,
        )
    if args.command == "summary":
        from healthmart.defs.report.summary import render_summary

        print(render_summary(Settings.from_env(serving_path=args.serving_path).serving_path))
        return 0
    if args.command == "report":
        from healthmart.defs.report.page import report_path, write_report

        serving_path = Settings.from_env(serving_path=args.serving_path).serving_path
        print(f"Health report: {write_report(serving_path, report_path(args.out))}")
        return 0
    if args.command == "inspect":
        from healthmart.cli.inspect import inspect_file
        from healthmart.defs.ingest.config import IngestConfigError, load_ingest_config
        from healthmart.defs.ingest.preset import PresetError, load_presets

        settings = Settings.from_env(ingest_config=args.ingest_config)
        try:
            config = load_ingest_config(*settings.ingest_config_location())
            catalog = load_presets(settings.presets_dir)
        except (IngestConfigError, PresetError) as exc:
            print(str(exc), file=sys.stderr)
            return 1
        code, report = inspect_file(
            Path(args.file),
            args.source,
            config,
            catalog,
            exports_dir=Path(args.exports_dir) if args.exports_dir else None,
            tolerance_days=settings.future_tolerance_days,
        )
        print(report)
        return code
    if args.command == "parse":
        parse_dbt(Settings.from_env())
        return 0
    if args.command == "calibrate":
        from healthmart.calibrate.report import run as run_calibration

        settings = Settings.from_env(warehouse_path=args.warehouse_path)
        out = Path(args.out).expanduser()
        return run_calibration(
            settings.warehouse_path,
            out if out.is_absolute() else PROJECT_ROOT / out,
            base_preset=args.base_preset,
            horizon_days=args.horizon_days,
            train_share=args.train_share,
            seed=args.seed,
            memory_limit=settings.duckdb_memory_limit,
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
