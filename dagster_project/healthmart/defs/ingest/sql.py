"""Small SQL helpers of the ingest: quoting, and the text and typed expressions of a column."""

from __future__ import annotations

from healthmart.core.contract import Column


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def norm(name: str) -> str:
    return name.strip().lower()


def num(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return line


def text_expr(expr: str) -> str:
    """Trimmed text, empty string -> NULL.

    Plain trim() strips spaces; it is ~3x faster than trim(x, <set>) and the casts to numbers,
    dates and timestamps ignore surrounding tabs / CR themselves.
    """
    return f"NULLIF(trim({expr}), '')"


def typed_expr(col: Column, s: str) -> str:
    t = col.type.upper()
    if t == "VARCHAR":
        return f"lower({s})" if col.accepted else s
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"):
        # TRY_CAST rounds '12.5' to 13: only accept integral values.
        return (
            f"CASE WHEN TRY_CAST({s} AS DOUBLE) = TRY_CAST({s} AS {t}) "
            f"THEN TRY_CAST({s} AS {t}) END"
        )
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return f"CASE WHEN isfinite(TRY_CAST({s} AS DOUBLE)) THEN TRY_CAST({s} AS {t}) END"
    if t == "DATE":
        # TRY_CAST to DATE also takes the date part of an ISO timestamp string.
        return f"TRY_CAST({s} AS DATE)"
    if t == "TIMESTAMP":
        # With TimeZone = UTC (set during ingest) strings without a zone are read as UTC and
        # strings with one are converted to UTC; stored naive.
        return f"CAST(TRY_CAST({s} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return f"TRY_CAST({s} AS {t})"


def type_label(col: Column) -> str:
    t = col.type.upper()
    if t == "DATE":
        return "a DATE (expected YYYY-MM-DD)"
    if t == "TIMESTAMP":
        return "a TIMESTAMP (expected ISO-8601)"
    article = "an" if t[:1] in "AEIOU" else "a"
    return f"{article} {t}"
