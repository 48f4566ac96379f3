"""A long scoring range is built in consecutive parts of bounded account-days."""

from __future__ import annotations

from datetime import date

from healthmart.defs.dbt.assets import build_parts

SUPPORTED = (date(2026, 1, 31), date(2026, 12, 1))


def test_a_range_within_the_budget_is_one_part() -> None:
    assert build_parts(None, SUPPORTED, accounts=1_000, account_days=1_000_000) == [SUPPORTED]


def test_parts_are_consecutive_and_cover_the_supported_range() -> None:
    # 100,000 accounts and 3,000,000 account-days: 30 days a part
    parts = build_parts(None, SUPPORTED, accounts=100_000, account_days=3_000_000)
    assert parts[0] == (date(2026, 1, 31), date(2026, 3, 1))
    assert parts[1][0] == date(2026, 3, 2)
    assert parts[-1][1] == date(2026, 12, 1)
    assert all((b[0] - a[1]).days == 1 for a, b in zip(parts, parts[1:], strict=False))
    assert all((last - first).days + 1 <= 30 for first, last in parts)
    assert len(parts) == 11  # 305 days


def test_the_requested_range_is_clamped_to_the_data() -> None:
    # a backfill from the start of Dagster's calendar scores only what the data supports
    parts = build_parts(
        (date(2015, 1, 1), date(2026, 2, 10)), SUPPORTED, accounts=10, account_days=10_000
    )
    assert parts == [(date(2026, 1, 31), date(2026, 2, 10))]


def test_a_budget_below_one_day_still_builds_a_day_at_a_time() -> None:
    parts = build_parts(
        (date(2026, 3, 1), date(2026, 3, 3)), SUPPORTED, accounts=5_000_000, account_days=1
    )
    assert parts == [(date(2026, 3, d), date(2026, 3, d)) for d in (1, 2, 3)]


def test_nothing_to_build_without_data_or_outside_it() -> None:
    assert build_parts(None, None, accounts=10, account_days=100) == []
    assert build_parts((date(2027, 1, 1), date(2027, 1, 5)), SUPPORTED, 10, 100) == []
