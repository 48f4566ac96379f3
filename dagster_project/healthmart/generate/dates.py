"""The generator's calendar: the data window, days as epoch days, seasons."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from healthmart.generate.catalogue import AUGUST_FACTOR, EPOCH, SECONDS_PER_DAY, WEEKDAY_FACTOR


@dataclass(frozen=True)
class Calendar:
    """The data window, one entry per day: epoch day, weekday, month, day of month."""

    start: date
    end: date
    epoch: np.ndarray
    weekday: np.ndarray
    month: np.ndarray
    dom: np.ndarray

    @property
    def days(self) -> int:
        return len(self.epoch)

    @property
    def end_second(self) -> int:
        """Last second of the end date (epoch seconds): nothing may happen after it."""
        return int(self.epoch[-1] + 1) * SECONDS_PER_DAY - 1


def data_window(end_date: date, months: int) -> tuple[date, date]:
    """The window covers exactly ``months`` calendar months ending at ``end_date`` inclusive."""
    if months < 1:
        raise ValueError("months must be >= 1")
    nxt = end_date + timedelta(days=1)
    y, m = divmod(nxt.year * 12 + nxt.month - 1 - months, 12)
    day = min(nxt.day, calendar.monthrange(y, m + 1)[1])
    return date(y, m + 1, day), end_date


def make_calendar(end_date: date, months: int) -> Calendar:
    start, end = data_window(end_date, months)
    epoch = np.arange((start - EPOCH).days, (end - EPOCH).days + 1, dtype=np.int64)
    dt = epoch.astype("datetime64[D]")
    mstart = dt.astype("datetime64[M]")
    return Calendar(
        start=start,
        end=end,
        epoch=epoch,
        weekday=(epoch + 3) % 7,
        month=mstart.astype(np.int64) % 12 + 1,
        dom=(dt - mstart.astype("datetime64[D]")).astype(np.int64) + 1,
    )


def day_of_month(epoch_days: np.ndarray) -> np.ndarray:
    dt = np.asarray(epoch_days, dtype=np.int64).astype("datetime64[D]")
    return (dt - dt.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


def add_months(epoch_days: np.ndarray, months: int | np.ndarray) -> np.ndarray:
    """Same day of the month ``months`` later (cut to the month's last day), on epoch days."""
    dt = np.asarray(epoch_days, dtype=np.int64).astype("datetime64[D]")
    m = dt.astype("datetime64[M]")
    dom0 = (dt - m.astype("datetime64[D]")).astype(np.int64)
    new_m = m + np.asarray(months, dtype=np.int64)
    new_start = new_m.astype("datetime64[D]")
    month_len = ((new_m + 1).astype("datetime64[D]") - new_start).astype(np.int64)
    return (new_start + np.minimum(dom0, month_len - 1)).astype(np.int64)


def add_years(epoch_days: np.ndarray, years: int | np.ndarray) -> np.ndarray:
    """Same month and day ``years`` later (29 Feb falls back to 28 Feb), on epoch days."""
    return add_months(epoch_days, 12 * np.asarray(years, dtype=np.int64))


def season_factor(cal: Calendar) -> np.ndarray:
    """Usage multiplier per region and day: weekday pattern, year-end and August dips."""
    base = WEEKDAY_FACTOR[cal.weekday]
    year_end = ((cal.month == 12) & (cal.dom >= 20)) | ((cal.month == 1) & (cal.dom <= 2))
    base = np.where(year_end, base * 0.45, base)
    aug = cal.month == 8
    return np.stack([np.where(aug, base * f, base) for f in AUGUST_FACTOR])
