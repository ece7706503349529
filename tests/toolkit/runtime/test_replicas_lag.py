"""A replica's lag and the choice of a replica, from positions alone (no server).

The monitor threads feed the router the primary's WAL positions and each replica's replay
position; these tests feed it the same by hand, to pin what "behind" means: how long ago the
primary was last where the replica is. The standalone tests show the same on a real standby.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

from plainsql import load_settings
from plainsql.runtime._replicas import Router

URLS = ("postgresql://app@replica-1/app", "postgresql://app@replica-2/app")


def router(tmp_path: Path, max_lag_ms: int = 2000) -> Router:
    settings = replace(
        load_settings(environ={}, project_dir=tmp_path),
        replica_urls=URLS,
        replica_max_lag_ms=max_lag_ms,
    )
    return Router(settings, "postgresql://app@primary/app", URLS)


def test_an_idle_pair_is_never_behind(tmp_path: Path) -> None:
    routing = router(tmp_path)
    now = time.monotonic()
    routing._history = [(now - 3600, 500)]  # the primary has stood at 500 for an hour
    assert routing.lag_of(500, now) == 0.0


def test_a_replica_is_as_far_behind_as_the_primary_was_when_it_last_stood_there(
    tmp_path: Path,
) -> None:
    routing = router(tmp_path)
    now = time.monotonic()
    routing._history = [(now - 30, 100), (now - 12, 200), (now - 5, 300), (now - 1, 400)]
    assert math.isclose(routing.lag_of(250, now), 12.0)  # everything after 200 is missing
    assert math.isclose(routing.lag_of(300, now), 5.0)
    assert routing.lag_of(400, now) == 0.0


def test_a_replica_behind_everything_read_is_unknown_until_that_proves_it_behind(
    tmp_path: Path,
) -> None:
    routing = router(tmp_path, max_lag_ms=2000)
    now = time.monotonic()
    routing._history = [(now - 0.5, 900)]  # just started: the replica may be an hour behind
    assert math.isinf(routing.lag_of(100, now))
    routing._history = [(now - 30, 900), (now - 1, 950)]
    assert routing.lag_of(100, now) >= 30  # at least as old as the oldest position read


def test_a_read_goes_to_a_replica_that_has_the_scope_s_position_in_turn(tmp_path: Path) -> None:
    routing = router(tmp_path)
    now = time.monotonic()
    first, second = routing.states
    first.replay_position, second.replay_position = 500, 800
    first.heard_at = second.heard_at = now
    routing._serving = (0, 1)
    assert {routing.choose(0) for _ in range(4)} == {0, 1}  # in turn
    assert {routing.choose(600) for _ in range(4)} == {1}  # only the one past the position
    assert routing.choose(900) is None  # none: the primary's
    assert routing.primary_reads == 1
    first.heard_at = second.heard_at = now - 5  # their monitors went silent
    assert routing.choose(0) is None
