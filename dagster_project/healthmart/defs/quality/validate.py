"""Validate a suite against a DuckDB table with Great Expectations, in bounded memory.

GX cannot validate DuckDB tables through its SQL datasource, so every expectation runs on
pandas batches from GX's pandas datasource (an ephemeral, in-memory GX context):

* ``rows`` – the rows in scope, with the suite's derived columns, streamed from DuckDB in
  Arrow record batches of ``chunk_rows`` rows (``to_arrow_reader``). Each chunk is validated on
  its own and the results are added up: element, missing and unexpected counts are summed
  (``mostly`` is applied to the totals), the first examples are kept. Memory is one chunk,
  whatever the size of the table.
* ``duplicates`` – for a uniqueness expectation: the rows in scope whose key hashes to a hash
  that occurs more than once (DuckDB groups the whole scope, spilling to disk if it must); GX
  checks the exact uniqueness on that small frame, so its count is the rows sharing a key.
* a named frame (``meta.healthmart.frames``): the frame's SQL, run by DuckDB over the table or
  the rows in scope, e.g. the per-source freshness and volume profile (one row) or the weights
  summed per account-day; validated in chunks when the frame says ``chunked``.

Expectations that need the whole frame at once (uniqueness, table-level) only run on frames
that are not chunked. The caller opens the connection (read-only).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from healthmart.core.contract import SOURCES
from healthmart.defs.quality.suites import CRITICAL, DUPLICATES, ROWS, Suite

DEFAULT_CHUNK_ROWS = 500_000
# Expectations about a column's type (or the table's columns): validated on the first chunk.
SCHEMA_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
        "expect_column_to_exist",
    }
)
DEFAULT_EXAMPLES = 5
# {name} in a frame's SQL: table, rows (the rows in scope), scoring_date, numeric parameters
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_UNIQUENESS = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")


@dataclass(frozen=True)
class Outcome:
    """The result of one expectation of a suite, over every chunk of its frame."""

    index: int  # position in the suite
    expectation_type: str
    kwargs: dict[str, Any]
    description: str | None
    frame: str
    severity: str  # critical (blocking) | warning | info
    success: bool
    element_count: int | None
    unexpected_count: int | None
    observed_value: Any = None
    examples: tuple[Any, ...] = ()
    error: str | None = None

    @property
    def column(self) -> str | None:
        if "column" in self.kwargs:
            return self.kwargs["column"]
        for key in ("column_list", "column_set"):
            if key in self.kwargs:
                return ",".join(self.kwargs[key])
        if "column_A" in self.kwargs:
            return f"{self.kwargs['column_A']},{self.kwargs['column_B']}"
        return None

    @property
    def blocking(self) -> bool:
        return self.severity == CRITICAL


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    table: str
    scope: str  # what was validated, in words
    rows_validated: int
    chunks: int
    seconds: float
    outcomes: tuple[Outcome, ...]
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def blocking_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.blocking]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and not o.blocking]


# --------------------------------------------------------------------------------------------
# Dates the expectations compare with: from the data, never from the wall clock
# --------------------------------------------------------------------------------------------


def scoring_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The newest date in all exports (the time column of every raw table present)."""
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    }
    parts = [
        f"select max(cast({s.time_column} as date)) as d from raw.{s.name}"
        for s in SOURCES.values()
        if s.time_column and s.name in present
    ]
    if not parts:
        return None
    (value,) = con.execute(f"select max(d) from ({' union all '.join(parts)})").fetchall()[0]
    return value


def _latest_plausible_date(
    con: duckdb.DuckDBPyConnection, rows_sql: str, tolerance_days: int
) -> pd.Timestamp:
    """The day the newest file in scope was loaded plus a tolerance (time zones): a date after
    it cannot have happened yet when the export was written."""
    (loaded,) = con.execute(f"select max(_loaded_at) from ({rows_sql})").fetchall()[0]
    if loaded is None:  # nothing in scope: nothing to compare
        return pd.Timestamp.max.floor("D")
    return pd.Timestamp(loaded.date() + timedelta(days=1 + tolerance_days)) - pd.Timedelta(1, "us")


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def _render(sql: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), sql)


def _pandas_dtype(arrow_type: pa.DataType) -> Any:
    """Arrow dtypes for strings, numbers and booleans (nulls stay nulls, ints stay ints);
    datetime64 for dates and timestamps (what GX compares dates with)."""
    if pa.types.is_temporal(arrow_type):
        return None
    return pd.ArrowDtype(arrow_type)


def to_frame(batch: pa.RecordBatch | pa.Table) -> pd.DataFrame:
    """A DuckDB record batch as the pandas frame GX validates."""
    if any(pa.types.is_decimal(f.type) for f in batch.schema):
        schema = pa.schema(
            [f.with_type(pa.float64()) if pa.types.is_decimal(f.type) else f for f in batch.schema]
        )
        batch = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        batch = batch.cast(schema)
    return batch.to_pandas(types_mapper=_pandas_dtype, date_as_object=False)


def numpy_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with numbers as numpy int64 / float64 and dates as datetime64[ns], the dtypes
    GX compares vectorised (it compares other dtypes value by value in Python, ~30x slower).
    Integers with nulls become floats (nulls NaN, still missing to GX) and dates beyond
    datetime64[ns] keep their unit, so types change but values and missingness do not: used
    for the chunks after the first, where no type expectation runs (SCHEMA_EXPECTATIONS)."""
    out = {}
    for name, column in df.items():
        dtype = column.dtype
        if isinstance(dtype, pd.ArrowDtype):
            arrow_type = dtype.pyarrow_dtype
            if pa.types.is_integer(arrow_type):
                out[name] = column.astype("float64" if column.hasnans else "int64")
            elif pa.types.is_floating(arrow_type):
                out[name] = column.astype("float64")
        elif pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]":
            with contextlib.suppress(OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
                out[name] = column.dt.as_unit("ns")
    return df.assign(**out) if out else df


def _stream(con: duckdb.DuckDBPyConnection, sql: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The result of sql as frames of chunk_rows rows (the last one smaller; one empty frame if
    there are no rows). DuckDB hands out record batches of its own size: they are sliced and
    joined so that GX sees full chunks and memory holds one chunk at a time."""
    reader = con.sql(sql).to_arrow_reader(chunk_rows)
    pending: list[pa.RecordBatch] = []
    size = 0
    emitted = False
    for batch in reader:
        while batch.num_rows:
            take = min(batch.num_rows, chunk_rows - size)
            pending.append(batch.slice(0, take))
            size += take
            batch = batch.slice(take)
            if size == chunk_rows:
                yield to_frame(pa.Table.from_batches(pending, schema=reader.schema))
                emitted = True
                pending, size = [], 0
    if pending or not emitted:
        yield to_frame(pa.Table.from_batches(pending, schema=reader.schema))


def _whole(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[pd.DataFrame]:
    yield to_frame(con.sql(sql).to_arrow_table())


# --------------------------------------------------------------------------------------------
# GX
# --------------------------------------------------------------------------------------------


def _gx_context() -> Any:
    """An in-memory GX context: no files, no analytics, no progress bars, quiet logs."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, pd.Timestamp | datetime):  # dates arrive as midnight timestamps
        if value == value.replace(hour=0, minute=0, second=0, microsecond=0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        try:
            return _json_safe(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


class _Tally:
    """Adds up the results of one expectation over the chunks of its frame."""

    def __init__(self, index: int, spec: dict[str, Any], frame: str, examples: int):
        self.index = index
        self.spec = spec
        self.frame = frame
        self.max_examples = examples
        self.element_count = 0
        self.unexpected_count = 0
        self.missing_count = 0
        self.counted = False
        self.all_succeeded = True
        self.observed: Any = None
        self.examples: list[Any] = []
        self.error: str | None = None

    def add(self, result: Any, indexed: bool) -> None:
        if result.exception_info.get("raised_exception"):
            self.error = self.error or str(result.exception_info.get("exception_message"))
            self.all_succeeded = False
            return
        res = result.result or {}
        if "unexpected_count" in res and res.get("element_count") is not None:
            self.counted = True
            self.element_count += int(res.get("element_count") or 0)
            self.unexpected_count += int(res.get("unexpected_count") or 0)
            self.missing_count += int(res.get("missing_count") or 0)
        if not result.success:
            self.all_succeeded = False
        if "observed_value" in res and (self.observed is None or not result.success):
            self.observed = _json_safe(res["observed_value"])
        # with index columns, GX lists the unexpected rows' ids and values; else the values
        found = res.get("partial_unexpected_index_list") if indexed else None
        found = found or res.get("partial_unexpected_list")
        for example in found or ():
            if len(self.examples) >= self.max_examples:
                break
            self.examples.append(_json_safe(example))

    def outcome(self, rows_validated: int) -> Outcome:
        kwargs = self.spec.get("kwargs", {})
        if self.error is not None:
            success = False
        elif self.counted:
            mostly = float(kwargs.get("mostly", 1.0))
            nonmissing = self.element_count - self.missing_count
            if mostly >= 1.0:
                success = self.unexpected_count == 0
            else:
                success = nonmissing == 0 or (
                    (nonmissing - self.unexpected_count) / nonmissing >= mostly
                )
        else:
            success = self.all_succeeded
        element_count = self.element_count if self.counted else None
        if self.frame == DUPLICATES:  # the frame held only the candidate rows
            element_count = rows_validated
        return Outcome(
            index=self.index,
            expectation_type=self.spec["type"],
            kwargs=_json_safe(kwargs),
            description=self.spec.get("description"),
            frame=self.frame,
            severity=str(self.spec.get("severity") or CRITICAL).lower(),
            success=success,
            element_count=element_count,
            unexpected_count=self.unexpected_count if self.counted else None,
            observed_value=self.observed,
            examples=tuple(self.examples),
            error=self.error,
        )


class _Validator:
    def __init__(self, suite: Suite, parameters: dict[str, Any], examples: int):
        self.context = _gx_context()
        self.batch_definition = (
            self.context.data_sources.add_pandas("duckdb_chunks")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("chunk")
        )
        self.suite = suite
        self.parameters = parameters
        self.examples = examples
        self.index_columns = list(suite.meta.get("index_columns", []))
        self._count = 0

    def _gx_suite(self, frame: str, specs: list[tuple[int, dict[str, Any]]]) -> Any:
        import great_expectations as gx

        self._count += 1
        return self.context.suites.add(
            gx.ExpectationSuite(
                name=f"{self.suite.name}__{frame}__{self._count}",
                expectations=[
                    {**spec, "meta": {**spec.get("meta", {}), "hm_index": index}}
                    for index, spec in specs
                ],
            )
        )

    def run(
        self,
        frames: Iterator[pd.DataFrame],
        specs: list[tuple[int, dict[str, Any]]],
        frame: str,
        index_columns: list[str] | None = None,
    ) -> tuple[list[_Tally], int, int]:
        """Validate specs on every frame of the iterator; returns tallies, rows, chunks.
        index_columns: the columns that identify an unexpected row in the examples.

        Expectations on the columns' types (SCHEMA_EXPECTATIONS) run on the first frame
        only: a DuckDB column has one type, so every chunk of it gives the same answer. They
        report the rows of all frames when they pass, those of the first when they fail."""
        full_suite = self._gx_suite(frame, specs)
        rest = [(index, spec) for index, spec in specs if spec["type"] not in SCHEMA_EXPECTATIONS]
        rest_suite = self._gx_suite(frame, rest) if len(rest) < len(specs) else full_suite
        tallies = {index: _Tally(index, spec, frame, self.examples) for index, spec in specs}
        rows = chunks = 0
        for df in frames:
            gx_suite = full_suite if chunks == 0 else rest_suite
            if chunks > 0:
                df = numpy_frame(df)
            rows += len(df)
            chunks += 1
            wanted = self.index_columns if index_columns is None else index_columns
            present = [c for c in wanted if c in df.columns]
            result_format: dict[str, Any] = {
                "result_format": "SUMMARY",
                "partial_unexpected_count": self.examples,
            }
            if present:
                result_format["unexpected_index_column_names"] = present
            batch = self.batch_definition.get_batch(batch_parameters={"dataframe": df})
            validation = batch.validate(
                gx_suite, expectation_parameters=self.parameters, result_format=result_format
            )
            for result in validation.results:
                tallies[result.expectation_config.meta["hm_index"]].add(result, bool(present))
            del batch, validation, df
        for tally in tallies.values():
            if tally.spec["type"] in SCHEMA_EXPECTATIONS and tally.counted and tally.all_succeeded:
                tally.element_count = rows
        return list(tallies.values()), rows, chunks


def validate_suite(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    parameters: dict[str, Any],
    *,
    where: str | None = None,
    scope: str = "all rows",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    examples: int = DEFAULT_EXAMPLES,
    as_of: date | None = None,
) -> SuiteResult:
    """Run every expectation of the suite on the rows of suite.table matching `where`.

    parameters: the suite's parameters (expectations/parameters.json); latest_plausible_date
    is added from the data. as_of: the scoring date (default: the newest date in the exports).
    """
    started = time.monotonic()
    table = suite.table
    condition = f" where {where}" if where else ""
    base_rows = f"select * from {table}{condition}"
    derived = suite.meta.get("derived_columns") or {}
    derived_sql = "".join(f", ({expr}) as {name}" for name, expr in derived.items())
    row_columns = suite.meta.get("row_columns")
    selected = ", ".join(_quote(c) for c in row_columns) if row_columns else "*"
    rows_sql = f"select {selected}{derived_sql} from {table}{condition}"

    params = dict(parameters)
    columns = {
        name for (name,) in con.execute(f"select column_name from (describe {table})").fetchall()
    }
    if "_loaded_at" in columns:
        params["latest_plausible_date"] = _latest_plausible_date(
            con, base_rows, int(params.get("future_tolerance_days", 1))
        )
    as_of = as_of or scoring_date(con)
    values = {
        "table": table,
        "rows": f"({base_rows})",
        "scoring_date": f"date '{as_of.isoformat()}'" if as_of else "cast(null as date)",
        "where": where or "true",
        **{k: str(v) for k, v in params.items() if isinstance(v, int | float)},
    }

    by_frame: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, spec in enumerate(suite.expectations):
        frame = (spec.get("meta") or {}).get("frame", ROWS)
        by_frame.setdefault(frame, []).append((index, spec))

    validator = _Validator(suite, params, examples)
    tallies: list[_Tally] = []
    rows_validated = 0
    chunks = 0
    frames_spec = suite.meta.get("frames") or {}
    for frame in [ROWS, *sorted(f for f in by_frame if f != ROWS)]:
        specs = by_frame.get(frame, [])
        if frame == ROWS:
            found, rows_validated, chunks = validator.run(
                _stream(con, rows_sql, chunk_rows), specs, ROWS
            )
            tallies += found
        elif frame == DUPLICATES:
            for index, spec in specs:
                tallies += validator.run(
                    _whole(con, _duplicates_sql(base_rows, spec, validator.index_columns)),
                    [(index, spec)],
                    DUPLICATES,
                )[0]
        else:
            if frame not in frames_spec:
                raise KeyError(f"suite {suite.name}: no SQL for the frame {frame!r}")
            sql = _render(frames_spec[frame]["sql"], values)
            source = (
                _stream(con, sql, chunk_rows)
                if frames_spec[frame].get("chunked")
                else _whole(con, sql)
            )
            tallies += validator.run(source, specs, frame, frames_spec[frame].get("index_columns"))[
                0
            ]

    outcomes = tuple(sorted((t.outcome(rows_validated) for t in tallies), key=lambda o: o.index))
    return SuiteResult(
        suite=suite.name,
        table=table,
        scope=scope,
        rows_validated=rows_validated,
        chunks=chunks,
        seconds=time.monotonic() - started,
        outcomes=outcomes,
        parameters=_json_safe(params),
    )


def _duplicates_sql(base_rows: str, spec: dict[str, Any], index_columns: list[str]) -> str:
    """Rows in scope whose key hash occurs more than once (GX then checks the exact key)."""
    kwargs = spec["kwargs"]
    if spec["type"] not in _UNIQUENESS:
        raise ValueError(f"the duplicates frame is for uniqueness expectations, not {spec['type']}")
    keys = list(kwargs.get("column_list") or [kwargs["column"]])
    wanted = keys + [c for c in index_columns if c not in keys]
    key_list = ", ".join(_quote(k) for k in keys)
    return (
        f"select {', '.join(_quote(c) for c in wanted)} from ({base_rows}) "
        f"where hash({key_list}) in (select hash({key_list}) from ({base_rows}) "
        "group by 1 having count(*) > 1)"
    )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def outcome_summary(outcome: Outcome) -> str:
    """One line per expectation, for logs and the Dagster UI."""
    status = "ok" if outcome.success else ("FAILED" if outcome.blocking else "warning")
    counts = ""
    if outcome.unexpected_count is not None:
        counts = f" {outcome.unexpected_count} of {outcome.element_count} rows unexpected"
    elif outcome.observed_value is not None:
        counts = f" observed {json.dumps(outcome.observed_value)}"
    return (
        f"{status}: {outcome.expectation_type}({outcome.column or ''}) [{outcome.severity}]{counts}"
    )
