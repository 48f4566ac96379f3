"""The run tags that steer which scoring dates a run builds.

The score of day D uses the data before D. Without tags a run scores what its plan says
(healthmart.defs.dbt.planning: the new days and what late files changed; all history the
first time).
`healthmart/score_from` and `healthmart/score_to` (ISO dates, both) rescore exactly that
range, e.g. from the UI's launchpad; `healthmart/restate=true` rescores all history;
`healthmart/not_before` (a date, or `latest`) leaves out the dates before it. The per-date
assets are not partitioned by date: a range of hundreds of dates is one run and one
`dbt build`, whose events are one per model, not one per model and date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

SCORE_FROM_TAG = "healthmart/score_from"
SCORE_TO_TAG = "healthmart/score_to"
RESTATE_TAG = "healthmart/restate"
NOT_BEFORE_TAG = "healthmart/not_before"


def range_tags(first: date, last: date) -> dict[str, str]:
    """The run tags of a run scoring the dates first .. last."""
    return {SCORE_FROM_TAG: first.isoformat(), SCORE_TO_TAG: last.isoformat()}


def run_date_range(tags: dict[str, str]) -> tuple[date, date] | None:
    """The scoring dates of a run from its tags; None: no range given (all the data supports).
    A tag that is not an ISO date, or a range that ends before it starts, is a ValueError
    naming the tag."""
    if SCORE_FROM_TAG not in tags and SCORE_TO_TAG not in tags:
        return None
    values = {}
    for tag in (SCORE_FROM_TAG, SCORE_TO_TAG):
        text = tags.get(tag)
        if text is None:
            raise ValueError(f"run tag {tag} is missing (a range needs both ends)")
        try:
            values[tag] = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"run tag {tag}={text!r} is not a date (YYYY-MM-DD)") from None
    first, last = values[SCORE_FROM_TAG], values[SCORE_TO_TAG]
    if last < first:
        raise ValueError(f"run tags: {SCORE_TO_TAG} {last} is before {SCORE_FROM_TAG} {first}")
    return first, last


def today() -> date:
    """Today's scoring date (UTC): the last date a run may score (its data is before it)."""
    return datetime.now(UTC).date()
