"""python -m healthmart.generate_saas --out DIR --accounts N --months M --seed S"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from healthmart.generate_saas.exports import DEFAULT_END, generate_exports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m healthmart.generate_saas",
        description="Write simulated B2B SaaS exports (every source of the contract) to a "
        "landing folder.",
    )
    parser.add_argument("--out", required=True, type=Path, help="landing folder to write")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--months", type=int, default=15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--end", type=date.fromisoformat, default=DEFAULT_END, help="last day (YYYY-MM-DD)"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    counts = generate_exports(args.out, args.accounts, args.months, args.seed, args.end)
    rows = ", ".join(f"{source} {n:,}" for source, n in counts.items())
    print(f"Wrote {args.out} in {time.monotonic() - started:.1f} s: {rows}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
