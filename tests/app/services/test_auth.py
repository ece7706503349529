"""AuthService on a real PostgreSQL: users, sign-in, sessions, accounts, verifications, no leaks."""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import subprocess
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from psycopg_pool import AsyncConnectionPool

from plainsql import AsyncDatabase, Settings, embedded, load_async_queries, open_async_pool
from plainsql.errors import CheckViolation
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UserRole
from reference_apps.services.auth import (
    AccountAlreadyLinked,
    AccountNotFound,
    AuthService,
    EmailTaken,
    InvalidCredentials,
    OAuthTokens,
    PasswordRejected,
    User,
    UsernameTaken,
    UserNotFound,
    secret_hash,
)
from reference_apps.services.crypto import CorruptCiphertext, Secret, key_id_of
from reference_apps.services.errors import AlreadyExists, NotFound
from reference_apps.services.git import GitService
from reference_apps.services.verifications import PasswordReset

from ..fixtures import TEST_KEY, TEST_KEYS, add_workspace

AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]
SyncConn = psycopg.Connection[tuple[Any, ...]]
WaitUntilBlocked = Callable[[str], Awaitable[None]]  # the fixture in conftest.py

PASSWORD = "correct horse battery staple"


async def sign_up(auth: AuthService, email: str = "ada@x.io", **extra: Any) -> User:
    return await auth.sign_up(email=email, password=PASSWORD, name="Ada", **extra)


def stored_tokens(conn: SyncConn, account_id: str) -> list[bytes | None]:
    """What the database holds of an account's access, refresh and id token."""
    row = conn.execute(
        "SELECT access_token, refresh_token, id_token FROM accounts WHERE id = %s", (account_id,)
    ).fetchone()
    assert row is not None
    return [None if value is None else bytes(value) for value in row]


def scalar(conn: SyncConn, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


# --- sign-up and passwords ----------------------------------------------------------------


async def test_sign_up_stores_a_user_and_an_argon2id_hash_never_the_password(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth, username="ada")

    assert (user.email, user.name, user.username, user.role) == (
        "ada@x.io",
        "Ada",
        "ada",
        UserRole.MEMBER,
    )
    assert user.email_verified is False
    provider, account_id, stored = plainsql_conn.execute(
        "SELECT provider_id, account_id, password FROM accounts WHERE user_id = %s", (user.id,)
    ).fetchall()[0]
    assert (provider, account_id) == ("credential", user.id)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


async def test_the_default_hasher_is_argon2id_with_argon2_cffi_parameters(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries, plainsql_conn: SyncConn
) -> None:
    service = AuthService(plainsql_async_db, typed_queries)  # production parameters
    user = await service.sign_up(email="prod@x.io", password=PASSWORD, name="Prod")

    stored = scalar(plainsql_conn, "SELECT password FROM accounts WHERE user_id = %s", user.id)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hasher_other_than_argon2id_is_refused(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    from argon2 import Type

    with pytest.raises(ValueError, match="argon2id"):
        AuthService(plainsql_async_db, typed_queries, password_hasher=PasswordHasher(type=Type.I))


async def test_emails_differing_only_in_case_collide(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    await sign_up(auth, email="A@x.io")

    with pytest.raises(EmailTaken) as caught:
        await sign_up(auth, email="a@x.io")

    assert isinstance(caught.value, AlreadyExists)
    assert scalar(plainsql_conn, "SELECT count(*) FROM users WHERE lower(email) = 'a@x.io'") == 1
    assert scalar(plainsql_conn, "SELECT count(*) FROM accounts") == 1


async def test_usernames_differing_only_in_case_collide(auth: AuthService) -> None:
    await sign_up(auth, email="one@x.io", username="Ada")

    with pytest.raises(UsernameTaken):
        await sign_up(auth, email="two@x.io", username="ada")


async def test_users_without_username_do_not_collide(auth: AuthService) -> None:
    first = await sign_up(auth, email="one@x.io")
    second = await sign_up(auth, email="two@x.io")

    assert first.username is None
    assert second.username is None
    assert first.id != second.id


@pytest.mark.parametrize("password", ["short", "x" * 1025])
async def test_a_password_too_short_or_too_long_is_rejected_without_quoting_it(
    auth: AuthService, plainsql_conn: SyncConn, password: str
) -> None:
    with pytest.raises(PasswordRejected) as caught:
        await auth.sign_up(email="ada@x.io", password=password, name="Ada")

    assert password not in str(caught.value)
    assert scalar(plainsql_conn, "SELECT count(*) FROM users") == 0


async def test_verify_password_accepts_the_right_one_case_insensitively_by_email(
    auth: AuthService,
) -> None:
    user = await sign_up(auth)

    assert await auth.verify_password(email="ADA@X.IO", password=PASSWORD) == user


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@x.io", "wrong password"), ("nobody@x.io", PASSWORD), ("ada@x.io", "")],
)
async def test_a_wrong_password_or_unknown_email_fails_sign_in_the_same_way(
    auth: AuthService, plainsql_conn: SyncConn, email: str, password: str
) -> None:
    await sign_up(auth)

    with pytest.raises(InvalidCredentials) as caught:
        await auth.sign_in(email=email, password=password)

    assert str(caught.value) == "invalid email or password"
    assert scalar(plainsql_conn, "SELECT count(*) FROM sessions") == 0


async def test_a_user_without_a_credential_account_cannot_sign_in_with_a_password(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth)
    plainsql_conn.execute("DELETE FROM accounts WHERE user_id = %s", (user.id,))
    plainsql_conn.commit()

    with pytest.raises(InvalidCredentials):
        await auth.sign_in(email="ada@x.io", password=PASSWORD)


async def test_sign_in_opens_a_session_found_by_its_token(auth: AuthService) -> None:
    user = await sign_up(auth)

    signed_in = await auth.sign_in(
        email="ada@x.io", password=PASSWORD, ip_address="192.0.2.1", user_agent="test"
    )

    assert signed_in.user == user
    assert signed_in.token not in repr(signed_in)
    session = await auth.sessions.get_session(signed_in.token)
    assert session == signed_in.session
    assert (session.user_id, session.ip_address, session.user_agent) == (
        user.id,
        "192.0.2.1",
        "test",
    )
    assert session.expires_at - session.created_at == timedelta(days=7)


async def test_a_hash_made_with_other_parameters_is_upgraded_at_sign_in(
    auth: AuthService,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_conn: SyncConn,
) -> None:
    user = await sign_up(auth)
    old = scalar(plainsql_conn, "SELECT password FROM accounts WHERE user_id = %s", user.id)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    upgraded = AuthService(plainsql_async_db, typed_queries, password_hasher=stronger)

    await upgraded.sign_in(email="ada@x.io", password=PASSWORD)

    new = scalar(plainsql_conn, "SELECT password FROM accounts WHERE user_id = %s", user.id)
    assert new != old
    assert "m=2048,t=2,p=1" in new
    assert not stronger.check_needs_rehash(new)
    assert await auth.verify_password(email="ada@x.io", password=PASSWORD) == user


# --- reads, profile, soft and hard delete -------------------------------------------------


async def test_get_user_by_id_email_and_username(auth: AuthService) -> None:
    user = await sign_up(auth, username="Ada.L")

    assert await auth.get_user_by_id(user.id) == user
    assert await auth.get_user_by_email("ADA@x.io", acting_user_id=user.id) == user
    assert await auth.get_user_by_username("ada.l", acting_user_id=user.id) == user


async def test_a_user_finds_no_other_user_by_email_or_username(auth: AuthService) -> None:
    ada = await sign_up(auth, username="ada")
    bob = await sign_up(auth, email="bob@x.io", username="bob")

    with pytest.raises(UserNotFound):
        await auth.get_user_by_email("ada@x.io", acting_user_id=bob.id)
    with pytest.raises(UserNotFound):
        await auth.get_user_by_username("ada", acting_user_id=bob.id)
    with pytest.raises(UserNotFound):
        await auth.update_profile(ada.id, name="Mallory", acting_user_id=bob.id)
    with pytest.raises(UserNotFound):
        await auth.hard_delete_user(ada.id, acting_user_id=bob.id)
    assert (await auth.get_user_by_id(ada.id)).name == ada.name


async def test_get_of_an_unknown_user_raises_user_not_found(auth: AuthService) -> None:
    with pytest.raises(UserNotFound) as caught:
        await auth.get_user_by_id("no-such-user")
    assert isinstance(caught.value, NotFound)
    with pytest.raises(UserNotFound):
        await auth.get_user_by_email("nobody@x.io", acting_user_id="no-such-user")
    with pytest.raises(UserNotFound):
        await auth.get_user_by_username("nobody", acting_user_id="no-such-user")


async def test_update_profile_changes_only_the_given_fields(auth: AuthService) -> None:
    user = await sign_up(auth, username="ada", image="https://img/ada.png")

    renamed = await auth.update_profile(user.id, name="Ada Lovelace")
    assert (renamed.name, renamed.username, renamed.image) == (
        "Ada Lovelace",
        "ada",
        "https://img/ada.png",
    )
    assert renamed.updated_at > user.updated_at  # the shared trigger, not Python

    cleared = await auth.update_profile(user.id, image=None, username="lovelace")
    assert (cleared.name, cleared.username, cleared.image) == ("Ada Lovelace", "lovelace", None)


async def test_update_profile_to_a_taken_username_raises_username_taken(
    auth: AuthService,
) -> None:
    await sign_up(auth, email="one@x.io", username="taken")
    user = await sign_up(auth, email="two@x.io")

    with pytest.raises(UsernameTaken):
        await auth.update_profile(user.id, username="TAKEN")
    assert (await auth.get_user_by_id(user.id)).username is None


async def test_update_profile_of_an_unknown_user_raises_user_not_found(auth: AuthService) -> None:
    with pytest.raises(UserNotFound):
        await auth.update_profile("no-such-user", name="x")


async def test_a_soft_deleted_user_is_invisible_and_cannot_sign_in(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth, username="ada")
    signed_in = await auth.sign_in(email="ada@x.io", password=PASSWORD)
    await auth.accounts.link_account(user.id, provider_id="github", account_id="gh-1")

    await auth.soft_delete_user(user.id)

    with pytest.raises(UserNotFound):
        await auth.get_user_by_id(user.id)
    with pytest.raises(UserNotFound):
        await auth.get_user_by_email("ada@x.io", acting_user_id=user.id)
    with pytest.raises(UserNotFound):
        await auth.get_user_by_username("ada", acting_user_id=user.id)
    with pytest.raises(InvalidCredentials):
        await auth.sign_in(email="ada@x.io", password=PASSWORD)
    assert await auth.sessions.get_session(signed_in.token) is None
    assert await auth.sessions.list_sessions(user.id) == []
    assert await auth.accounts.list_accounts(user.id) == []
    with pytest.raises(UserNotFound):
        await auth.update_profile(user.id, name="back")
    with pytest.raises(UserNotFound):
        await auth.sessions.create_session(user.id)
    with pytest.raises(UserNotFound):
        await auth.soft_delete_user(user.id)
    # The row stays, marked; its sessions are gone.
    assert scalar(plainsql_conn, "SELECT deleted_at IS NOT NULL FROM users WHERE id = %s", user.id)
    assert scalar(plainsql_conn, "SELECT count(*) FROM sessions") == 0


async def test_a_soft_delete_frees_neither_the_email_nor_the_username(auth: AuthService) -> None:
    user = await sign_up(auth, username="ada")
    await auth.soft_delete_user(user.id)

    with pytest.raises(EmailTaken):
        await sign_up(auth, email="ADA@x.io")
    with pytest.raises(UsernameTaken):
        await sign_up(auth, email="other@x.io", username="ada")


async def test_hard_delete_cascades_to_sessions_and_accounts(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth)
    other = await sign_up(auth, email="other@x.io")
    await auth.sessions.create_session(user.id)
    await auth.sessions.create_session(other.id)
    await auth.accounts.link_account(user.id, provider_id="github", account_id="gh-1")

    await auth.hard_delete_user(user.id)

    assert scalar(plainsql_conn, "SELECT count(*) FROM users WHERE id = %s", user.id) == 0
    assert scalar(plainsql_conn, "SELECT count(*) FROM sessions WHERE user_id = %s", user.id) == 0
    assert scalar(plainsql_conn, "SELECT count(*) FROM accounts WHERE user_id = %s", user.id) == 0
    assert len(await auth.sessions.list_sessions(other.id)) == 1
    # The email is free again after a hard delete.
    await sign_up(auth)


async def test_hard_delete_removes_a_soft_deleted_user_too(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth)
    await auth.soft_delete_user(user.id)

    await auth.hard_delete_user(user.id)

    assert scalar(plainsql_conn, "SELECT count(*) FROM users") == 0
    with pytest.raises(UserNotFound):
        await auth.hard_delete_user(user.id)


# --- sessions -----------------------------------------------------------------------------


async def test_session_tokens_are_long_random_and_distinct(auth: AuthService) -> None:
    user = await sign_up(auth)

    tokens = {(await auth.sessions.create_session(user.id)).token for _ in range(5)}

    assert len(tokens) == 5
    assert all(len(token) >= 43 for token in tokens)  # 32 random bytes, base64url


async def test_an_expired_session_is_not_returned(auth: AuthService) -> None:
    user = await sign_up(auth)
    expired = await auth.sessions.create_session(user.id, expires_in=timedelta(seconds=-1))
    live = await auth.sessions.create_session(user.id, expires_in=timedelta(hours=1))

    assert await auth.sessions.get_session(expired.token) is None
    assert await auth.sessions.get_session(live.token) == live.session
    assert await auth.sessions.list_sessions(user.id) == [live.session]


async def test_get_session_of_an_unknown_token_is_none(auth: AuthService) -> None:
    assert await auth.sessions.get_session("no-such-token") is None


async def test_sessions_are_listed_newest_first_and_only_the_users_own(
    auth: AuthService,
) -> None:
    user = await sign_up(auth)
    other = await sign_up(auth, email="other@x.io")
    first = await auth.sessions.create_session(user.id)
    second = await auth.sessions.create_session(user.id)
    await auth.sessions.create_session(other.id)

    assert await auth.sessions.list_sessions(user.id) == [second.session, first.session]


async def test_create_session_for_an_unknown_user_raises_user_not_found(
    auth: AuthService,
) -> None:
    with pytest.raises(UserNotFound):
        await auth.sessions.create_session("no-such-user")


async def test_revoke_one_session_only_by_its_owner(auth: AuthService) -> None:
    user = await sign_up(auth)
    other = await sign_up(auth, email="other@x.io")
    kept = await auth.sessions.create_session(user.id)
    revoked = await auth.sessions.create_session(user.id)

    assert await auth.sessions.revoke_session(other.id, revoked.session.id) is False
    assert await auth.sessions.revoke_session(user.id, revoked.session.id) is True
    assert await auth.sessions.revoke_session(user.id, revoked.session.id) is False

    assert await auth.sessions.get_session(revoked.token) is None
    assert await auth.sessions.get_session(kept.token) == kept.session


async def test_sign_out_ends_the_session_of_the_token(auth: AuthService) -> None:
    user = await sign_up(auth)
    created = await auth.sessions.create_session(user.id)

    assert await auth.sessions.sign_out(created.token) is True
    assert await auth.sessions.sign_out(created.token) is False
    assert await auth.sessions.get_session(created.token) is None


async def test_revoke_all_sessions_of_a_user(auth: AuthService) -> None:
    user = await sign_up(auth)
    other = await sign_up(auth, email="other@x.io")
    for _ in range(3):
        await auth.sessions.create_session(user.id)
    kept = await auth.sessions.create_session(other.id)

    assert await auth.sessions.revoke_all_sessions(user.id) == 3
    assert await auth.sessions.list_sessions(user.id) == []
    assert await auth.sessions.list_sessions(other.id) == [kept.session]


async def test_delete_expired_sessions_in_batches_keeps_the_live_ones(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth)
    for _ in range(5):
        await auth.sessions.create_session(user.id, expires_in=timedelta(seconds=-1))
    live = await auth.sessions.create_session(user.id)

    assert await auth.sessions.delete_expired_sessions(batch_size=2) == 5

    assert scalar(plainsql_conn, "SELECT count(*) FROM sessions") == 1
    assert await auth.sessions.get_session(live.token) == live.session
    assert await auth.sessions.delete_expired_sessions() == 0


# --- accounts -----------------------------------------------------------------------------


async def test_link_list_and_unlink_an_oauth_account(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth)
    expires = datetime(2030, 1, 1, tzinfo=UTC)

    account = await auth.accounts.link_account(
        user.id,
        provider_id="github",
        account_id="gh-42",
        access_token="gho_access",
        refresh_token="ghr_refresh",
        access_token_expires_at=expires,
        scope="read:user",
    )

    assert (account.provider_id, account.account_id, account.scope) == (
        "github",
        "gh-42",
        "read:user",
    )
    assert account.access_token_expires_at == expires
    assert "gho_access" not in repr(account)
    access, refresh, id_token = stored_tokens(plainsql_conn, account.id)
    assert id_token is None
    assert scalar(plainsql_conn, "SELECT password FROM accounts WHERE id = %s", account.id) is None
    for stored, token in ((access, b"gho_access"), (refresh, b"ghr_refresh")):
        assert stored is not None
        assert token not in stored
        assert key_id_of(stored) == TEST_KEY.key_id
    tokens = await auth.accounts.get_oauth_tokens(user.id, provider_id="github", account_id="gh-42")
    assert tokens == OAuthTokens(
        access_token=Secret("gho_access"), refresh_token=Secret("ghr_refresh"), id_token=None
    )
    assert "gho_access" not in repr(tokens)
    assert "ghr_refresh" not in repr(tokens)
    listed = await auth.accounts.list_accounts(user.id)
    assert [a.provider_id for a in listed] == ["credential", "github"]

    await auth.accounts.unlink_account(user.id, provider_id="github", account_id="gh-42")

    assert [a.provider_id for a in await auth.accounts.list_accounts(user.id)] == ["credential"]


async def test_linking_again_refreshes_the_tokens_of_the_same_account(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth)
    first = await auth.accounts.link_account(
        user.id, provider_id="github", account_id="gh-42", access_token="a1"
    )

    again = await auth.accounts.link_account(
        user.id, provider_id="github", account_id="gh-42", access_token="a2"
    )

    assert again.id == first.id
    tokens = await auth.accounts.get_oauth_tokens(user.id, provider_id="github", account_id="gh-42")
    assert tokens.access_token == "a2"


async def test_a_provider_account_belongs_to_one_user(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    owner = await sign_up(auth)
    intruder = await sign_up(auth, email="intruder@x.io")
    await auth.accounts.link_account(
        owner.id, provider_id="github", account_id="gh-42", access_token="a1"
    )

    with pytest.raises(AccountAlreadyLinked):
        await auth.accounts.link_account(
            intruder.id, provider_id="github", account_id="gh-42", access_token="stolen"
        )

    assert plainsql_conn.execute(
        "SELECT user_id FROM accounts WHERE provider_id = 'github'"
    ).fetchall() == [(owner.id,)]
    tokens = await auth.accounts.get_oauth_tokens(
        owner.id, provider_id="github", account_id="gh-42"
    )
    assert tokens.access_token == "a1"
    with pytest.raises(AccountNotFound):
        await auth.accounts.get_oauth_tokens(intruder.id, provider_id="github", account_id="gh-42")


async def test_a_token_moved_to_another_column_or_account_does_not_decrypt(
    auth: AuthService, plainsql_conn: SyncConn
) -> None:
    user = await sign_up(auth)
    await auth.accounts.link_account(
        user.id, provider_id="github", account_id="gh-1", access_token="A1", refresh_token="R1"
    )
    await auth.accounts.link_account(
        user.id, provider_id="github", account_id="gh-2", access_token="A2"
    )
    plainsql_conn.execute(  # an attacker with write access swaps ciphertexts around
        "UPDATE accounts SET access_token = (SELECT access_token FROM accounts"
        " WHERE account_id = 'gh-1') WHERE account_id = 'gh-2'"
    )
    plainsql_conn.execute(
        "UPDATE accounts SET access_token = refresh_token WHERE account_id = 'gh-1'"
    )
    plainsql_conn.commit()

    for account_id in ("gh-1", "gh-2"):
        with pytest.raises(CorruptCiphertext, match="fails authentication"):
            await auth.accounts.get_oauth_tokens(
                user.id, provider_id="github", account_id=account_id
            )


async def test_link_for_an_unknown_user_raises_user_not_found(auth: AuthService) -> None:
    with pytest.raises(UserNotFound):
        await auth.accounts.link_account("no-such-user", provider_id="github", account_id="gh-1")


async def test_credential_accounts_are_not_linked_nor_unlinked(auth: AuthService) -> None:
    user = await sign_up(auth)

    with pytest.raises(ValueError, match="sign_up"):
        await auth.accounts.link_account(user.id, provider_id="credential", account_id=user.id)
    with pytest.raises(AccountNotFound):
        await auth.accounts.unlink_account(user.id, provider_id="credential", account_id=user.id)
    assert [a.provider_id for a in await auth.accounts.list_accounts(user.id)] == ["credential"]


async def test_unlink_of_an_unknown_account_raises_account_not_found(auth: AuthService) -> None:
    user = await sign_up(auth)

    with pytest.raises(AccountNotFound):
        await auth.accounts.unlink_account(user.id, provider_id="github", account_id="nope")


async def test_a_failed_write_never_quotes_a_token(auth: AuthService) -> None:
    user = await sign_up(auth)
    secret = "gho_secret_token_value"

    # A blank provider breaks a CHECK: PostgreSQL's DETAIL would quote the whole row.
    with pytest.raises(CheckViolation) as caught:
        await auth.accounts.link_account(
            user.id, provider_id=" ", account_id="x", access_token=secret
        )

    error = caught.value
    assert error.constraint == "accounts_provider_id_not_blank"
    assert secret not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


# --- verifications ------------------------------------------------------------------------


async def test_a_verification_is_consumed_exactly_once(auth: AuthService) -> None:
    created = await auth.verifications.create_verification("ada@x.io")
    assert created.value not in repr(created)

    assert await auth.verifications.consume_verification("ada@x.io", "wrong-value") is None
    assert await auth.verifications.consume_verification("eve@x.io", created.value) is None
    consumed = await auth.verifications.consume_verification("ada@x.io", created.value)
    assert consumed == created.verification
    assert await auth.verifications.consume_verification("ada@x.io", created.value) is None


async def test_an_expired_verification_cannot_be_consumed(auth: AuthService) -> None:
    created = await auth.verifications.create_verification(
        "ada@x.io", expires_in=timedelta(seconds=-1)
    )

    assert await auth.verifications.consume_verification("ada@x.io", created.value) is None
    assert await auth.verifications.delete_expired_verifications() == 1


async def test_concurrent_consumers_of_one_value_one_wins(auth: AuthService) -> None:
    created = await auth.verifications.create_verification("ada@x.io", value="shared-value")

    results = await asyncio.gather(
        *(auth.verifications.consume_verification("ada@x.io", created.value) for _ in range(8))
    )

    assert [r for r in results if r is not None] == [created.verification]


async def test_a_consumer_waiting_on_another_gets_nothing_once_it_commits(
    auth: AuthService, plainsql_database_url: str, wait_until_blocked: WaitUntilBlocked
) -> None:
    """Deterministic race: the first consumer holds the row while the second one runs."""
    created = await auth.verifications.create_verification("ada@x.io", value="raced-value")
    async with await psycopg.AsyncConnection.connect(plainsql_database_url) as first:
        row = await (
            await first.execute(
                "DELETE FROM verifications WHERE identifier = %s AND value_hash = %s"
                " AND expires_at > now() RETURNING id",
                ("ada@x.io", secret_hash("raced-value")),
            )
        ).fetchone()
        assert row == (created.verification.id,)

        second = asyncio.create_task(
            auth.verifications.consume_verification("ada@x.io", "raced-value")
        )
        await wait_until_blocked("SELECT v.id")  # the path app_consume_verification
        assert not second.done()
        await first.commit()

        assert await second is None


async def test_verify_email_consumes_the_value_and_marks_the_email_verified(
    auth: AuthService,
) -> None:
    user = await sign_up(auth)
    created = await auth.verifications.request_email_verification(user.id)
    assert created.verification.identifier == user.email

    assert await auth.verifications.verify_email(user.email, "wrong-value") is None
    verified = await auth.verifications.verify_email(user.email.upper(), created.value)

    assert verified is not None
    assert verified.email_verified is True
    assert await auth.verifications.verify_email(user.email, created.value) is None


async def test_a_value_tied_to_no_user_verifies_no_email(auth: AuthService) -> None:
    user = await sign_up(auth)
    made_up = await auth.verifications.create_verification(user.email)

    assert await auth.verifications.verify_email(user.email, made_up.value) is None
    assert (await auth.get_user_by_id(user.id)).email_verified is False


async def test_of_concurrent_email_verifications_with_one_value_one_wins(
    auth: AuthService,
) -> None:
    user = await sign_up(auth)
    created = await auth.verifications.request_email_verification(user.id)

    results = await asyncio.gather(
        *(auth.verifications.verify_email(user.email, created.value) for _ in range(8))
    )

    assert [r.id for r in results if r is not None] == [user.id]


async def test_an_email_changes_only_with_the_value_sent_to_the_new_address(
    auth: AuthService,
) -> None:
    user = await sign_up(auth)
    change = await auth.request_email_change(user.id, "ada@new.io")
    assert change.value not in repr(change)

    assert await auth.confirm_email_change("ada@new.io", "wrong-value") is None
    assert await auth.confirm_email_change("eve@x.io", change.value) is None
    assert (await auth.get_user_by_id(user.id)).email == user.email
    changed = await auth.confirm_email_change("ADA@new.io", change.value)

    assert changed is not None
    assert (changed.email, changed.email_verified) == ("ada@new.io", True)
    assert await auth.confirm_email_change("ada@new.io", change.value) is None


async def test_an_email_change_to_a_taken_address_is_email_taken_and_keeps_the_value(
    auth: AuthService,
) -> None:
    user = await sign_up(auth)
    change = await auth.request_email_change(user.id, "bob@x.io")
    await auth.sign_up(email="BOB@x.io", password=PASSWORD, name="Bob")

    with pytest.raises(EmailTaken):
        await auth.confirm_email_change("bob@x.io", change.value)
    assert (await auth.get_user_by_id(user.id)).email == user.email


async def test_email_paths_need_an_active_user(auth: AuthService) -> None:
    user = await sign_up(auth)
    await auth.soft_delete_user(user.id)

    with pytest.raises(UserNotFound):
        await auth.verifications.request_email_verification(user.id)
    with pytest.raises(UserNotFound):
        await auth.request_email_change(user.id, "new@x.io")


# --- no secret in logs or errors ----------------------------------------------------------


def _messages_of(error: BaseException | None) -> list[str]:
    """The messages of an exception and of every exception chained to it."""
    found: list[str] = []
    while error is not None:
        found.append(f"{type(error).__name__}: {error!s} {error!r}")
        error = error.__cause__ or error.__context__
    return found


async def test_no_password_hash_or_token_reaches_a_log_or_an_error(
    plainsql_settings: Settings,
    plainsql_conn: SyncConn,
    fast_hasher: PasswordHasher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates here
    for name in ("psycopg", "psycopg.pool", "aiosql", "plainsql"):
        caplog.set_level(logging.DEBUG, logger=name)
    hidden: list[str] = [PASSWORD, "wrong password for ada"]
    errors: list[BaseException] = []
    # Pool and queries made under the capture, so that their own logging is seen too.
    async with open_async_pool(plainsql_settings) as pool:
        auth = AuthService(
            AsyncDatabase(pool, plainsql_settings),
            AsyncTypedQueries(load_async_queries(plainsql_settings.sql_dir)),
            password_hasher=fast_hasher,
        )
        await _sign_up_and_fail_to_sign_in(auth, plainsql_conn, hidden, errors)

    assert len(errors) == 3
    assert caplog.records, "nothing was logged: the capture is not working"
    texts = [
        " ".join(
            [
                record.getMessage(),
                repr(record.args),
                record.exc_text or "",
                *_messages_of(record.exc_info[1] if record.exc_info else None),
            ]
        )
        for record in caplog.records
    ]
    texts += [message for error in errors for message in _messages_of(error)]
    texts.append(caplog.text)
    for secret in hidden:
        assert not [text for text in texts if secret in text]


async def _sign_up_and_fail_to_sign_in(
    auth: AuthService, conn: SyncConn, hidden: list[str], errors: list[BaseException]
) -> None:
    user = await sign_up(auth)
    try:
        await sign_up(auth)  # the same email again
    except EmailTaken as exc:
        errors.append(exc)
    try:
        await auth.sign_in(email="ada@x.io", password="wrong password for ada")
    except InvalidCredentials as exc:
        errors.append(exc)
    try:
        await auth.sign_in(email="nobody@x.io", password=PASSWORD)
    except InvalidCredentials as exc:
        errors.append(exc)
    signed_in = await auth.sign_in(email="ada@x.io", password=PASSWORD)
    assert await auth.sessions.sign_out(signed_in.token)
    hidden.append(signed_in.token)
    hidden.append(scalar(conn, "SELECT password FROM accounts WHERE user_id = %s", user.id))


async def test_a_database_dump_holds_no_bearer_secret_oauth_token_or_deploy_key(
    auth: AuthService,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_database_url: str,
) -> None:
    """A stolen dump signs nobody in, resets no password and hands out no provider token or
    deploy key: only SHA-256s and AES-256-GCM envelopes are stored, and a hash is no token."""
    user = await sign_up(auth)
    signed_in = await auth.sign_in(email="ada@x.io", password=PASSWORD)
    verification = await auth.verifications.create_verification("ada@x.io")
    resets: list[str] = []
    await auth.request_password_reset("ada@x.io")

    async def deliver(reset: PasswordReset) -> None:
        resets.append(reset.value)

    assert await auth.verifications.deliver_password_resets(deliver) == 1
    oauth = [f"{prefix}_{secrets.token_urlsafe(24)}" for prefix in ("gho", "ghr", "eyJ", "ya29")]
    await auth.accounts.link_account(
        user.id,
        provider_id="github",
        account_id="gh-42",
        access_token=oauth[0],
        refresh_token=oauth[1],
        id_token=oauth[2],
    )
    await auth.accounts.link_account(
        user.id, provider_id="google", account_id="g-7", access_token=oauth[3]
    )
    workspace = await add_workspace(plainsql_async_db, typed_queries, "ada-site")
    deploy_key = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{secrets.token_urlsafe(48)}\n-----END"
    git = GitService(plainsql_async_db, typed_queries, keys=TEST_KEYS)
    await git.connect_repository(
        workspace.id,
        repo_url="git@git.example:ada/site.git",
        deploy_key=deploy_key,
        acting_user_id=workspace.user_id,
    )
    dumped = await asyncio.to_thread(
        subprocess.run,
        [str(embedded.binary("pg_dump")), "--format=plain", plainsql_database_url],
        capture_output=True,
        text=True,
        check=True,
    )
    dump = dumped.stdout
    assert "CREATE TABLE public.sessions" in dump
    assert "COPY public.git_repositories" in dump
    for secret in (signed_in.token, verification.value, *resets, *oauth, deploy_key):
        raw = secret.encode()
        for form in (
            secret,
            secret.splitlines()[1] if "\n" in secret else secret,  # the key's body alone
            raw.hex(),
            base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
        ):
            assert form not in dump
    assert await auth.accounts.get_oauth_tokens(
        user.id, provider_id="google", account_id="g-7"
    ) == (OAuthTokens(access_token=Secret(oauth[3]), refresh_token=None, id_token=None))
    assert await git.get_deploy_key(workspace.id, acting_user_id=workspace.user_id) == deploy_key
    stolen = secret_hash(signed_in.token)
    assert stolen.hex() in dump  # what the dump does hold (bytea as hex) ...
    for forged in (stolen.hex(), base64.urlsafe_b64encode(stolen).decode().rstrip("=")):
        assert await auth.sessions.get_session(forged) is None  # ... is no way in
    assert await auth.sessions.get_session(signed_in.token) is not None
