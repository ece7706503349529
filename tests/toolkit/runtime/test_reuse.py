"""The query cache's store and keys, without a server (runtime/_reuse.py), on a clock of the
test's own: expiry, the bounds, what a write or a dropped listener does to what is kept, and
to the reads under way that identical reads wait for."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plainsql.runtime._reuse import (
    MISSING,
    CacheSpec,
    CacheStore,
    Flight,
    ReadScope,
    approximate_size,
    copied,
    params_key,
)

NOTES, MEMBERS, OTHER = 101, 102, 103


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def store(clock: Clock, **bounds: int) -> CacheStore:
    kept = CacheStore(
        {"notes": CacheSpec(ttl=30.0), "others": CacheSpec(ttl=30.0)},
        {"notes": frozenset({NOTES, MEMBERS}), "others": frozenset({OTHER})},
        max_entries=bounds.get("max_entries", 100),
        max_bytes=bounds.get("max_bytes", 10_000_000),
        clock=clock,
    )
    kept.listening_again()
    clock.now += 1
    return kept


def test_a_result_is_served_until_its_ttl_then_misses(clock: Clock) -> None:
    kept = store(clock)
    assert kept.store("k", "notes", ["row"], since=clock.now)
    clock.now += 29.9
    assert kept.get("k", "notes") == ["row"]
    clock.now += 0.2
    assert kept.get("k", "notes") is MISSING
    counts = kept.snapshot()["notes"]
    assert (counts.hits, counts.misses) == (1, 1)


def test_a_write_drops_the_entries_of_the_queries_reading_its_table(clock: Clock) -> None:
    kept = store(clock)
    kept.store(("notes", "ann"), "notes", [1], since=clock.now)
    kept.store(("notes", "bea"), "notes", [2], since=clock.now)
    kept.store(("others", "ann"), "others", [3], since=clock.now)
    assert kept.invalidate(MEMBERS) == ("notes",)
    assert kept.get(("notes", "ann"), "notes") is MISSING
    assert kept.get(("others", "ann"), "others") == [3]
    assert kept.snapshot()["notes"].invalidations == 2


def test_a_result_read_before_a_write_was_heard_is_not_kept(clock: Clock) -> None:
    kept = store(clock)
    began = clock.now  # the unit checked its connection out, then read...
    clock.now += 1
    kept.invalidate(NOTES)  # ... while another process's write was notified
    clock.now += 1
    assert not kept.store("k", "notes", ["maybe stale"], since=began)
    assert kept.store("k", "others", ["unrelated"], since=began)  # others reads no notes


def test_nothing_is_served_or_kept_while_nobody_listens(clock: Clock) -> None:
    kept = store(clock)
    kept.store("k", "notes", [1], since=clock.now)
    assert kept.dropped() == 1
    assert len(kept) == 0
    assert kept.get("k", "notes") is MISSING
    assert not kept.store("k", "notes", [1], since=clock.now)
    began = clock.now
    clock.now += 1
    kept.listening_again()
    clock.now += 1
    assert not kept.store("k", "notes", [1], since=began)  # read before LISTEN took effect
    assert kept.store("k", "notes", [1], since=clock.now)


def test_the_least_recently_used_entry_goes_first(clock: Clock) -> None:
    kept = store(clock, max_entries=2)
    kept.store("a", "notes", [1], since=clock.now)
    kept.store("b", "notes", [2], since=clock.now)
    assert kept.get("a", "notes") == [1]  # b is now the least recently used
    kept.store("c", "notes", [3], since=clock.now)
    assert kept.get("b", "notes") is MISSING
    assert kept.get("a", "notes") == [1]
    assert kept.snapshot()["notes"].evictions == 1


def test_the_bytes_bound_evicts_and_a_result_larger_than_it_is_not_kept(clock: Clock) -> None:
    row = ["x" * 1000]
    size = approximate_size(row)
    kept = store(clock, max_bytes=2 * size + size // 2)
    for key in ("a", "b", "c"):
        assert kept.store(key, "notes", list(row), since=clock.now)
    assert len(kept) == 2
    assert kept.bytes <= kept.max_bytes
    assert kept.snapshot()["notes"].evictions == 1
    assert not kept.store("big", "notes", ["y" * 10_000], since=clock.now)


def test_parameters_are_keyed_with_their_types() -> None:
    assert params_key({"x": 1}) != params_key({"x": True})
    assert params_key({"x": 1}) != params_key({"x": 1.0})
    assert params_key({"x": Decimal("1.0")}) != params_key({"x": Decimal("1.00")})
    assert params_key({"ids": [1, 2]}) == params_key({"ids": [1, 2]})
    assert params_key({"ids": [1, 2]}) != params_key({"ids": (1, 2)})
    assert params_key({"doc": {"a": 1}}) is None  # a dict cannot be a key: never reused


def test_a_reused_result_is_a_copy_its_caller_may_change() -> None:
    kept = [{"id": 1}]
    handed = copied(kept)
    handed[0]["id"] = 2
    handed.append({"id": 3})
    assert kept == [{"id": 1}]
    assert copied({"id": 1}) == {"id": 1}


def test_a_miss_under_way_is_joined_until_a_table_it_reads_is_written(clock: Clock) -> None:
    kept = store(clock)
    leader, leads = kept.flight("k", "notes", Flight)
    assert leads
    assert kept.flight("k", "notes", Flight) == (leader, False)  # an identical miss waits
    kept.invalidate(OTHER)  # a table notes does not read
    assert kept.flight("k", "notes", Flight) == (leader, False)
    kept.invalidate(MEMBERS)  # the leader may have read before this write
    assert leader is not None
    after, leads = kept.flight("k", "notes", Flight)
    assert leads
    assert after is not leader
    kept.landed("k", leader)  # the earlier leader lands: the later one stays under way
    assert kept.flight("k", "notes", Flight) == (after, False)


def test_nothing_is_under_way_while_nobody_listens(clock: Clock) -> None:
    kept = store(clock)
    leader, _ = kept.flight("k", "notes", Flight)
    kept.dropped()
    assert kept.flight("k", "notes", Flight) == (None, False)  # the read runs alone
    kept.listening_again()
    again, leads = kept.flight("k", "notes", Flight)
    assert leads
    assert again is not leader
    assert kept.flight("other", "notes", None) == (None, False)  # only looking: leads nothing


def test_a_write_in_the_scope_forgets_its_reads_under_way_and_what_they_bring() -> None:
    scope = ReadScope()
    leader, leads = scope.flight("k", Flight)
    assert leads
    assert scope.flight("k", Flight) == (leader, False)
    began = scope.cleared
    scope.clear()  # a write
    after, leads = scope.flight("k", Flight)
    assert leads  # a read begun after the write runs
    assert after is not leader
    scope.keep("k", ["read before the write"], began)
    assert "k" not in scope.results
    scope.keep("k", ["read after it"], scope.cleared)
    assert scope.results["k"] == ["read after it"]
    scope.keep("failed", MISSING, scope.cleared)
    assert "failed" not in scope.results
    assert scope.ran == 2


def test_a_flight_lands_once_and_its_waiters_see_what_it_brought() -> None:
    flight = Flight()
    flight.land(["rows"])
    flight.land(MISSING)  # a late "it failed" changes nothing
    assert flight.wait() == ["rows"]
