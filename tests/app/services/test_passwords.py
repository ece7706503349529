"""Passwords on a real PostgreSQL: a change with the current one, a reset by a single-use value
(migration 20261207043023_password_reset), and what each does to the user's sessions."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher

from plainsql import AsyncDatabase, Queries
from plainsql.errors import InvalidInput, PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.auth import (
    AuthService,
    InvalidCredentials,
    InvalidPasswordReset,
    PasswordRejected,
    PasswordResetExpired,
    User,
    WrongPassword,
)
from reference_apps.services.verifications import PasswordReset

from ..fixtures import ALICE, TEST_KEYS
from .conftest import FAST_HASHER

SyncConn = psycopg.Connection[tuple[Any, ...]]

OLD = "correct horse battery staple"
NEW = "a new and longer passphrase"


class Outbox:
    """The delivery callback of the tests: keeps what it is handed, as a mailer's outbox."""

    def __init__(self) -> None:
        self.sent: list[PasswordReset] = []

    async def deliver(self, reset: PasswordReset) -> None:
        self.sent.append(reset)

    @property
    def last(self) -> str:
        return self.sent[-1].value


async def sign_up(auth: AuthService, email: str = "ada@x.io") -> User:
    return await auth.sign_up(email=email, password=OLD, name="Ada")


async def reset_value(auth: AuthService, email: str = "ada@x.io") -> str:
    """Ask for a reset of ``email``, run the delivery worker once; the value it delivered."""
    outbox = Outbox()
    await auth.request_password_reset(email)
    assert await auth.verifications.deliver_password_resets(outbox.deliver) == 1
    return outbox.last


async def live_tokens(auth: AuthService, tokens: Sequence[str]) -> list[bool]:
    return [await auth.sessions.get_session(token) is not None for token in tokens]


async def signs_in(auth: AuthService, password: str, email: str = "ada@x.io") -> bool:
    try:
        await auth.verify_password(email=email, password=password)
    except InvalidCredentials:
        return False
    return True


# --- change -------------------------------------------------------------------------------


async def test_a_change_needs_the_current_password_and_ends_the_other_sessions(
    auth: AuthService,
) -> None:
    user = await sign_up(auth)
    here, *elsewhere = [(await auth.sign_in(email="ada@x.io", password=OLD)) for _ in range(3)]
    tokens = [here.token, *(s.token for s in elsewhere)]

    with pytest.raises(WrongPassword):
        await auth.change_password(
            user.id, current_password="not it", new_password=NEW, keep_session_id=here.session.id
        )
    assert await live_tokens(auth, tokens) == [True, True, True]

    ended = await auth.change_password(
        user.id, current_password=OLD, new_password=NEW, keep_session_id=here.session.id
    )

    assert ended == 2
    assert await live_tokens(auth, tokens) == [True, False, False]
    assert (await signs_in(auth, OLD), await signs_in(auth, NEW)) == (False, True)


async def test_a_change_without_a_session_to_keep_ends_them_all(auth: AuthService) -> None:
    user = await sign_up(auth)
    token = (await auth.sign_in(email="ada@x.io", password=OLD)).token
    assert await auth.change_password(user.id, current_password=OLD, new_password=NEW) == 1
    assert await live_tokens(auth, [token]) == [False]


async def test_another_user_cannot_change_a_users_password(auth: AuthService) -> None:
    ada = await sign_up(auth)
    eve = await auth.sign_up(email="eve@x.io", password="eve's own password", name="Eve")
    token = (await auth.sign_in(email="ada@x.io", password=OLD)).token
    with pytest.raises(WrongPassword):
        await auth.change_password(
            ada.id, current_password=OLD, new_password=NEW, acting_user_id=eve.id
        )
    assert await signs_in(auth, OLD)
    assert await live_tokens(auth, [token]) == [True]


async def test_a_new_password_too_short_is_rejected_before_anything_changes(
    auth: AuthService,
) -> None:
    user = await sign_up(auth)
    with pytest.raises(PasswordRejected):
        await auth.change_password(user.id, current_password=OLD, new_password="short")
    assert await signs_in(auth, OLD)


async def test_a_change_racing_another_change_does_not_overwrite_it(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries, plainsql_conn: SyncConn
) -> None:
    """The current password is checked against the hash the change then replaces: a change
    made meanwhile (here: while the new hash is computed) wins, and this one is refused."""

    class Racing(PasswordHasher):
        racing = False

        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            if self.racing:  # another change lands while this one hashes
                plainsql_conn.execute(
                    "UPDATE accounts SET password = %s WHERE provider_id = 'credential'",
                    (FAST_HASHER.hash("changed meanwhile"),),
                )
                plainsql_conn.commit()
            return super().hash(password, salt=salt)

    hasher = Racing(time_cost=1, memory_cost=1024, parallelism=1)
    auth = AuthService(plainsql_async_db, typed_queries, password_hasher=hasher, keys=TEST_KEYS)
    user = await sign_up(auth)
    token = (await auth.sign_in(email="ada@x.io", password=OLD)).token
    hasher.racing = True

    with pytest.raises(WrongPassword):
        await auth.change_password(user.id, current_password=OLD, new_password=NEW)

    hasher.racing = False
    assert await signs_in(auth, "changed meanwhile")
    assert await live_tokens(auth, [token]) == [True]


# --- reset --------------------------------------------------------------------------------


async def test_a_reset_value_works_once_and_ends_every_session(auth: AuthService) -> None:
    user = await sign_up(auth)
    tokens = [(await auth.sign_in(email="ada@x.io", password=OLD)).token for _ in range(2)]
    value = await reset_value(auth)

    reset = await auth.reset_password(value, NEW)

    assert reset == await auth.get_user_by_id(user.id)
    assert await live_tokens(auth, tokens) == [False, False]
    assert (await signs_in(auth, OLD), await signs_in(auth, NEW)) == (False, True)
    with pytest.raises(InvalidPasswordReset, match="unknown or already used"):
        await auth.reset_password(value, "a third passphrase")
    assert await signs_in(auth, NEW)


async def test_a_reset_value_is_stored_only_as_its_hash_and_handed_only_to_the_delivery(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth)
    outbox = Outbox()
    await auth.request_password_reset("ADA@x.io ")
    assert outbox.sent == []  # the request makes no value: the delivery worker does
    pending = plainsql_conn.execute("SELECT user_id FROM password_reset_requests").fetchall()
    assert pending == [(user.id,)]

    assert await auth.verifications.deliver_password_resets(outbox.deliver) == 1

    [sent] = outbox.sent
    assert (sent.issued.user_id, sent.issued.email) == (user.id, "ada@x.io")
    assert "value=<hidden>" in repr(sent)
    assert sent.value not in repr(sent)
    stored = plainsql_conn.execute(
        "SELECT identifier, value_hash, user_id, expires_at FROM verifications"
    ).fetchall()
    assert stored == [
        (f"password-reset:{user.id}", hashlib.sha256(sent.value.encode()).digest(), user.id,
         sent.issued.expires_at),
    ]  # fmt: skip
    assert plainsql_conn.execute("SELECT count(*) FROM password_reset_requests").fetchone() == (0,)
    # tests/app/services/test_auth.py checks that a database dump holds no such value.


async def test_an_expired_reset_value_is_refused_and_says_when_it_expired(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    await sign_up(auth)
    token = (await auth.sign_in(email="ada@x.io", password=OLD)).token
    value = await reset_value(auth)
    plainsql_conn.execute("UPDATE verifications SET expires_at = now() - interval '1 minute'")
    plainsql_conn.commit()

    with pytest.raises(PasswordResetExpired, match=r"expired at .*request a new one") as caught:
        await auth.reset_password(value, NEW)

    assert isinstance(caught.value.expired_at, datetime)
    assert await signs_in(auth, OLD)
    assert await live_tokens(auth, [token]) == [True]


async def test_a_reset_value_lives_as_long_as_asked_and_at_most_a_day(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    await sign_up(auth)
    outbox = Outbox()
    await auth.request_password_reset("ada@x.io")
    await auth.verifications.deliver_password_resets(
        outbox.deliver, expires_in=timedelta(minutes=15)
    )
    lifetime = plainsql_conn.execute("SELECT expires_at - created_at FROM verifications").fetchone()
    assert lifetime == (timedelta(minutes=15),)
    await auth.request_password_reset("ada@x.io")
    with pytest.raises(InvalidInput, match="expires_in must be more than 0 and at most a day"):
        await auth.verifications.deliver_password_resets(
            outbox.deliver, expires_in=timedelta(days=2)
        )


class Recorded:
    """A namespace of typed queries that records each call: its name and what it returned."""

    def __init__(self, inner: object, calls: list[tuple[str, object]]) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str) -> Callable[..., Awaitable[object]]:
        query = getattr(self._inner, name)

        async def call(*args: Any, **kwargs: Any) -> object:
            result = await query(*args, **kwargs)
            self._calls.append((name, result))
            return result

        return call


async def test_an_unknown_email_gets_the_same_answer_after_the_same_work(
    auth: AuthService, plainsql_async_queries: Queries, plainsql_conn: SyncConn
) -> None:
    """The same return value after the same queries with the same results (one call of the
    path, which looks the email up either way) and no delivery; only the outbox differs."""
    await sign_up(auth)
    q = AsyncTypedQueries(plainsql_async_queries)
    calls: list[tuple[str, object]] = []
    q.auth = Recorded(q.auth, calls)  # type: ignore[assignment]
    observed = AuthService(auth.db, q, password_hasher=FAST_HASHER)

    work: dict[str, tuple[object, list[tuple[str, object]]]] = {}
    for email in ("ada@x.io", "nobody@x.io"):
        calls.clear()
        # What the caller gets back (None, typed so: mypy knows, the test checks).
        answer = await observed.request_password_reset(email)  # type: ignore[func-returns-value]
        work[email] = (answer, list(calls))

    assert work["ada@x.io"] == work["nobody@x.io"]
    assert work["nobody@x.io"] == (None, [("create_password_reset_request", 1)])
    outbox = Outbox()
    assert await auth.verifications.deliver_password_resets(outbox.deliver) == 1
    assert [sent.issued.email for sent in outbox.sent] == ["ada@x.io"]
    assert plainsql_conn.execute("SELECT count(*) FROM verifications").fetchone() == (1,)


async def test_of_two_concurrent_uses_of_one_value_exactly_one_succeeds(
    auth: AuthService, plainsql_database_url: str
) -> None:
    """Deterministic race: both uses are held behind a lock on the value's row until both wait
    there, then run at once."""
    user = await sign_up(auth)
    value = await reset_value(auth)
    async with await psycopg.AsyncConnection.connect(plainsql_database_url) as holder:
        await holder.execute("SELECT id FROM verifications FOR UPDATE")
        uses = [
            asyncio.create_task(auth.reset_password(value, f"passphrase number {n}"))
            for n in (1, 2)
        ]
        await wait_for_backends_blocked_in(plainsql_database_url, "SELECT r.user_id", 2)
        await holder.rollback()
        results = await asyncio.gather(*uses, return_exceptions=True)

    winners = [n for n, r in zip((1, 2), results, strict=True) if isinstance(r, User)]
    losers = [r for r in results if isinstance(r, InvalidPasswordReset)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert results[winners[0] - 1] == await auth.get_user_by_id(user.id)
    assert await signs_in(auth, f"passphrase number {winners[0]}")


async def test_a_newer_request_replaces_the_earlier_value(auth: AuthService) -> None:
    await sign_up(auth)
    first = await reset_value(auth)
    second = await reset_value(auth)
    with pytest.raises(InvalidPasswordReset):
        await auth.reset_password(first, NEW)
    await auth.reset_password(second, NEW)
    assert await signs_in(auth, NEW)


async def test_requests_pending_for_one_user_make_one_delivery(auth: AuthService) -> None:
    await sign_up(auth)
    for _ in range(3):
        await auth.request_password_reset("ada@x.io")
    outbox = Outbox()
    assert await auth.verifications.deliver_password_resets(outbox.deliver) == 1
    assert await auth.verifications.deliver_password_resets(outbox.deliver) == 0
    assert len(outbox.sent) == 1


async def test_a_failed_delivery_keeps_the_request_and_stores_no_value(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    await sign_up(auth)
    await auth.request_password_reset("ada@x.io")

    async def failing(reset: PasswordReset) -> None:
        raise ConnectionError("the mail server is down")

    with pytest.raises(ConnectionError):
        await auth.verifications.deliver_password_resets(failing)
    assert plainsql_conn.execute("SELECT count(*) FROM verifications").fetchone() == (0,)
    plainsql_conn.commit()
    value = await reset_value(auth)  # the next run delivers it
    await auth.reset_password(value, NEW)
    assert await signs_in(auth, NEW)


async def test_a_reset_gives_a_user_with_only_oauth_accounts_a_password(
    users: None, auth: AuthService
) -> None:
    value = await reset_value(auth, "alice@example.com")
    user = await auth.reset_password(value, NEW)
    assert user.id == ALICE
    assert await signs_in(auth, NEW, email="alice@example.com")


async def test_a_rejected_new_password_keeps_the_value_usable(auth: AuthService) -> None:
    await sign_up(auth)
    value = await reset_value(auth)
    with pytest.raises(PasswordRejected):
        await auth.reset_password(value, "short")
    await auth.reset_password(value, NEW)
    assert await signs_in(auth, NEW)


async def test_a_soft_deleted_user_gets_no_reset_and_the_next_request_is_delivered(
    auth: AuthService,
) -> None:
    user = await sign_up(auth)
    await auth.sign_up(email="bo@x.io", password=OLD, name="Bo")
    await auth.request_password_reset("ada@x.io")
    await auth.request_password_reset("bo@x.io")
    await auth.soft_delete_user(user.id)
    outbox = Outbox()
    assert await auth.verifications.deliver_password_resets(outbox.deliver) == 1
    assert [sent.issued.email for sent in outbox.sent] == ["bo@x.io"]


async def test_the_application_role_cannot_make_a_reset_value(
    auth: AuthService, plainsql_async_db: AsyncDatabase
) -> None:
    """Only the worker makes values: SQL run as the application cannot hold one for an
    account (test_row_level_security.py checks every path's grant)."""
    await sign_up(auth)
    await auth.request_password_reset("ada@x.io")
    with pytest.raises(PermissionDenied):
        async with plainsql_async_db.transaction() as conn:
            await conn.execute("SELECT * FROM app_issue_password_reset(sha256('chosen'), '1 hour')")


async def wait_for_backends_blocked_in(url: str, query_start: str, backends: int) -> None:
    """Returns once ``backends`` other backends wait on a lock in a statement starting so."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as observer:
        for _ in range(2000):
            cursor = await observer.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                " AND regexp_replace(query, ' /\\*query=''[^'']*''\\*/', '') LIKE %s",
                (query_start + "%",),
            )
            found = await cursor.fetchone()
            if found is not None and found[0] >= backends:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"{backends} backends never waited on a lock in {query_start!r}")
