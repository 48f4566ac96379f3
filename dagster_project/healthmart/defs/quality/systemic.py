"""The blocking checks of an export: problems of a whole file or source, never of one row.

The ingest quarantines a bad row with its rule and loads the rest (an unknown account, a date
in the future, a value outside the contract), so one bad row never stops the day. What stops
it is systemic, each with its setting in ``expectations/parameters.json``:

* **quarantine share**: more than ``quarantine_max_share`` of a file's rows quarantined (and at
  least ``quarantine_min_rows`` of them: a file of three rows with one bad one is not a
  pattern);
* **shrunk file**: a new version of a file with fewer than ``file_min_size_ratio`` times the
  rows of the version loaded before it (at least ``shrink_min_rows`` rows before);
* **stale source**: the newest row of the source more than ``stale_max_lag_days`` before the
  scoring date (the newest date in all exports).

:func:`blocking_message` says which file or source and by how much, for the run log,
the check's metadata and what ``healthmart run`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthmart.core.contract import Source

FILES = "files"  # the frame: one row per export file validated

# One row per file in the run's scope (the suite's files not validated yet): its rows read and
# quarantined at ingest, and the rows of the version of the same file loaded before it.
FILES_SQL = """
with files as (
    select
        file as _source_file,
        file_hash,
        loaded_at,
        rows_loaded + rows_quarantined as rows_read,
        rows_quarantined
    from ingest_meta.files
    where source = '{source}'
),
in_scope as (
    select * from files where {{where}}
),
previous as (
    select
        log.file,
        log.rows_read as previous_rows,
        row_number() over (partition by log.file order by log.finished_at desc) as newest
    from ingest_meta.load_log as log
    inner join in_scope on log.file = in_scope._source_file
    where
        log.source = '{source}'
        and log.status = 'loaded'
        and log.file_hash <> in_scope.file_hash
        and log.finished_at < in_scope.loaded_at
)
select
    in_scope._source_file as file,
    in_scope.rows_read,
    in_scope.rows_quarantined,
    previous.previous_rows,
    case
        when in_scope.rows_quarantined >= {{quarantine_min_rows}}
            then in_scope.rows_quarantined / in_scope.rows_read
    end as quarantined_share,
    case
        when previous.previous_rows >= {{shrink_min_rows}}
            then in_scope.rows_read / previous.previous_rows
    end as size_ratio
from in_scope
left join previous on in_scope._source_file = previous.file and previous.newest = 1
""".strip()


def files_frame(source: Source) -> dict[str, Any]:
    return {
        "sql": FILES_SQL.format(source=source.name),
        "chunked": False,
        "index_columns": ["file", "rows_read", "rows_quarantined", "previous_rows"],
    }


# The failed expectation's column -> its parameter and what it says about one example row.
_MESSAGES = {
    "quarantined_share": (
        "quarantine_max_share",
        "{file}: {value} of its rows quarantined ({rows_quarantined} of {rows_read}), above "
        "quarantine_max_share {limit}; see ingest_meta.quarantine",
    ),
    "size_ratio": (
        "file_min_size_ratio",
        "{file} shrank to {rows_read} rows from {previous_rows} in its previous version "
        "({value}, below file_min_size_ratio {limit})",
    ),
    "lag_days": (
        "stale_max_lag_days",
        "stale: its newest row is of {latest_date}, {lag_days} days before the scoring date "
        "{scoring_date} (stale_max_lag_days {limit})",
    ),
}


def _shown(column: str, value: Any) -> str:
    """Shares as percentages, days as they are."""
    if column == "lag_days" or not isinstance(value, int | float):
        return str(value)
    return f"{100 * value:.1f} %"


def blocking_message(
    suite: str, column: str | None, examples: tuple[Any, ...], parameters: dict[str, Any]
) -> str | None:
    """What a failed systemic expectation blocked the day for, naming the file or source and
    by how much (one clause per example); None for any other expectation."""
    if column not in _MESSAGES:
        return None
    parameter, text = _MESSAGES[column]
    limit = _shown(column, parameters.get(parameter))
    return "; ".join(
        f"{suite}: "
        + text.format(**example, value=_shown(column, example.get(column)), limit=limit)
        for example in examples
        if isinstance(example, dict)
    )


def blocked_because(metadata: Mapping[str, Any]) -> list[str]:
    """The lines of a failed check's `blocked_because` metadata (what the run and the alert
    print); none for a check without it."""
    entry = metadata.get("blocked_because")
    text = str(getattr(entry, "value", entry) or "")
    lines = [line.strip().removeprefix("- ") for line in text.splitlines()]
    return [line for line in lines if line not in ("", "none")]
