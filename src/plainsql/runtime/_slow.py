"""The slow-query log: a named query's call over ``slow-query-ms`` is logged, values never.

One record per slow call, at WARNING under the ``plainsql.slow_query`` logger, with the
query's full name, its duration, the rows it returned or touched (``None`` for a streaming
cursor, whose rows are not counted) and the NAMES of its parameters: a parameter's value may
be a password, a token or personal data, and never reaches a log. The fields are also on the
record (``record.query_name``, ``duration_ms``, ``rows``, ``parameters``) for a structured
handler. The adapters time each call with two ``perf_counter`` reads, so the check costs the
same whether the log is on or off (off: the threshold is infinite).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

log = logging.getLogger("plainsql.slow_query")


def threshold_seconds(slow_query_ms: int | None) -> float:
    """The setting as the adapters compare it: seconds, infinite when the log is off."""
    return math.inf if slow_query_ms is None else slow_query_ms / 1000


def report(query_name: str, seconds: float, rows: int | None, parameters: Iterable[str]) -> None:
    names = sorted(parameters)
    duration_ms = round(seconds * 1000, 1)
    log.warning(
        "slow query %s: %.1f ms, %s rows, parameters: %s",
        query_name,
        duration_ms,
        "?" if rows is None else rows,
        ", ".join(names) or "(none)",
        extra={
            "query_name": query_name,
            "duration_ms": duration_ms,
            "rows": rows,
            "parameters": names,
        },
    )
