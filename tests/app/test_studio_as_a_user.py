"""plainsql studio, part 2, on the application's schema: reads as a user under row-level security
(compared with the application's own service), plans, and staged edits with and without
``--write``. Starlette's TestClient drives the ASGI application on this test's database."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from plainsql import AsyncDatabase
from plainsql.config import Settings
from plainsql.studio.app import Studio, create_app
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.users_admin import UsersAdminService

from .fixtures import ALICE, BOB, add_alice_and_bob

PORT = 4985
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "the-part-2-test-token"
SAME_ORIGIN = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}
CAROL = "user-carol"
USERS_PAGE = "/queries/auth.list_users_page"


def _open(settings: Settings, url: str, *, write: bool) -> Iterator[TestClient]:
    app = create_app(Studio(settings, url, write=write), token=TOKEN, port=PORT)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        assert client.get(f"/?token={TOKEN}").status_code == 303
        yield client


@pytest.fixture
def studio(plainsql_settings: Settings, plainsql_database_url: str) -> Iterator[TestClient]:
    """The studio as started without --write."""
    yield from _open(plainsql_settings, plainsql_database_url, write=False)


@pytest.fixture
def writable(plainsql_settings: Settings, plainsql_database_url: str) -> Iterator[TestClient]:
    """The studio as started with --write."""
    yield from _open(plainsql_settings, plainsql_database_url, write=True)


@pytest.fixture
def three_users(plainsql_conn: psycopg.Connection[Any]) -> None:
    """Alice (an administrator: she may list everyone), Bob and Carol."""
    add_alice_and_bob(plainsql_conn)
    plainsql_conn.execute(
        "INSERT INTO users (id, name, email) VALUES (%s, 'Carol', 'carol@example.com')", (CAROL,)
    )
    plainsql_conn.execute("UPDATE users SET role = 'OWNER' WHERE id = %s", (ALICE,))
    plainsql_conn.commit()


def result_column(page: str, column: str) -> list[str]:
    """The values of one column of the result table of a query's page."""
    table = page.split('id="result"', 1)[1].split("</table>", 1)[0]
    headers = re.findall(r"<th>([^<]+)<br>", table)
    index = headers.index(column)
    body = table.split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [html.unescape(re.findall(r"<td>(.*?)</td>", r, re.S)[index]) for r in rows]


def run_users_page(client: TestClient, acting_user: str) -> Any:
    return client.post(
        USERS_PAGE,
        data={
            "page_size": "50",
            "before_created_at": "",
            "before_id": "",
            "studio.as": acting_user,
        },
        headers=SAME_ORIGIN,
    )


async def test_a_run_as_a_user_reads_what_the_application_reads_for_them(
    three_users: None,
    studio: TestClient,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    service = UsersAdminService(plainsql_async_db, typed_queries)
    everyone = set(result_column(run_users_page(studio, "").text, "id"))
    assert everyone == {ALICE, BOB, CAROL}  # the login role: no policy hides a row
    for acting in (ALICE, BOB, CAROL):
        ran = run_users_page(studio, acting)
        assert ran.status_code == 200, ran.text
        shown = result_column(ran.text, "id")
        through_service = [u.id for u in (await service.list_users(acting_user_id=acting)).items]
        assert shown == through_service, acting
        said = re.sub(r"<[^>]+>", "", ran.text.split('id="ran-as">', 1)[1].split("</p>", 1)[0])
        assert f"ran as role reference_app with acting user {acting} (app.user_id)" in said
        assert "read-only" in said
    assert result_column(run_users_page(studio, BOB).text, "id") == [BOB]  # not Alice, not Carol


def test_a_table_and_a_row_read_as_a_user_show_only_what_the_policies_let_through(
    three_users: None, studio: TestClient
) -> None:
    as_bob = studio.get("/tables/public.users", params={"as": BOB})
    assert as_bob.status_code == 200
    assert re.findall(r"<td>(user-[a-z]+)</td>", as_bob.text) == [BOB]
    assert "acting user <code>user-bob</code>" in as_bob.text
    assert f"k.id={BOB}&amp;as={BOB}" in as_bob.text  # the row link reads as Bob too
    hidden = studio.get("/tables/public.users/row", params={"k.id": ALICE, "as": BOB})
    assert hidden.status_code == 404
    assert studio.get("/tables/public.users/row", params={"k.id": ALICE}).status_code == 200


def test_without_write_explain_analyze_of_a_writing_query_is_refused(
    studio: TestClient, plainsql_conn: psycopg.Connection[Any]
) -> None:
    def users() -> int:
        row = plainsql_conn.execute("SELECT count(*) FROM users").fetchone()
        plainsql_conn.commit()
        assert row is not None
        return int(row[0])

    before = users()
    form = {"name": "M", "email": "m@example.com", "username": "", "image": ""}
    analyzed = studio.post(
        "/queries/auth.create_user",
        data={**form, "studio.action": "explain", "studio.analyze": "1"},
        headers=SAME_ORIGIN,
    )
    assert analyzed.status_code == 403
    assert "needs `plainsql studio --write`" in analyzed.text
    assert 'id="plan"' not in analyzed.text
    # A SELECT whose function writes: the read-only unit refuses it.
    through_function = studio.post(
        "/queries/auth.create_user_with_credential",
        data={**form, "password_hash": "x", "studio.action": "explain", "studio.analyze": "1"},
        headers=SAME_ORIGIN,
    )
    assert through_function.status_code == 400
    assert "read-only transaction" in through_function.text
    # EXPLAIN without ANALYZE runs nothing: allowed.
    planned = studio.post(
        "/queries/auth.create_user", data={**form, "studio.action": "explain"}, headers=SAME_ORIGIN
    )
    assert planned.status_code == 200
    assert "Insert on users" in planned.text
    assert users() == before


def test_without_write_every_staged_edit_is_refused(
    three_users: None, studio: TestClient, plainsql_conn: psycopg.Connection[Any]
) -> None:
    for form in (
        {"kind": "update", "table": "public.users", "k.id": BOB, "v.name": "Robert"},
        {
            "kind": "insert",
            "table": "public.users",
            "v.id": "u-new",
            "v.name": "N",
            "v.email": "n@x",
        },
        {"kind": "delete", "table": "public.users", "k.id": BOB},
    ):
        refused = studio.post("/staged", data=form, headers=SAME_ORIGIN)
        assert refused.status_code == 403, form
        assert "--write" in refused.text
    assert (
        studio.post("/staged/commit", data={"version": "1"}, headers=SAME_ORIGIN).status_code == 403
    )
    assert "without <code>--write</code>" in studio.get("/staged").text
    assert 'id="edit-form"' not in studio.get("/tables/public.users/row", params={"k.id": BOB}).text
    names = dict(plainsql_conn.execute("SELECT id, name FROM users").fetchall())
    assert names == {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}


def test_a_plan_is_drawn_as_a_tree_with_actual_rows_and_buffers(
    three_users: None, studio: TestClient
) -> None:
    planned = studio.post(
        "/queries/auth.get_user_by_email",
        data={"email": "bob@example.com", "studio.as": BOB, "studio.action": "explain",
              "studio.analyze": "1"},
        headers=SAME_ORIGIN,
    )  # fmt: skip
    assert planned.status_code == 200, planned.text
    tree = planned.text.split('id="plan"', 1)[1].split("</section>", 1)[0]
    assert re.search(r"<strong>(Index Scan|Seq Scan|Bitmap Heap Scan)[^<]* on users", tree)
    assert re.search(r"actual <span class=\"act\">1</span> rows × 1 loop", tree)
    assert "estimated" in tree
    assert "buffers shared" in tree  # hit or read: whichever the cache gives
    assert "expensive" in tree  # one node at least holds a fifth of the time
    assert "acting user <code>user-bob</code>" in planned.text
    assert "app.user_id" in html.unescape(tree)  # the policy's condition (inlined) is in the plan
    # the generic plan is shown beside it, or said to be the same shape
    assert 'id="generic-plan"' in planned.text or 'id="generic-same"' in planned.text


def test_with_write_staged_edits_commit_together_and_a_violation_keeps_them(
    three_users: None,
    writable: TestClient,
    plainsql_conn: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="plainsql.studio")

    def state() -> dict[str, str]:
        found = dict(plainsql_conn.execute("SELECT id, email FROM users").fetchall())
        plainsql_conn.commit()
        return found

    row_page = writable.get("/tables/public.users/row", params={"k.id": BOB})
    assert 'id="edit-form"' in row_page.text
    staged = writable.post(
        "/staged",
        data={"kind": "update", "table": "public.users", "k.id": BOB, "v.email": "rob@example.com",
              "v.name": "Bob"},
        headers=SAME_ORIGIN,
    )  # fmt: skip
    assert staged.status_code == 303
    assert staged.headers["location"] == "/staged"
    assert writable.post(
        "/staged",
        data={"kind": "insert", "table": "public.teams", "v.name": "Crew", "v.slug": "crew"},
        headers=SAME_ORIGIN,
    ).status_code == 303  # fmt: skip
    page = writable.get("/staged").text
    # only the changed column, every value bound and cast to its column's type
    assert "UPDATE &#34;public&#34;.&#34;users&#34; SET &#34;email&#34; = CAST($1 AS text)" in page
    assert "rob@example.com" in page
    assert "INSERT INTO &#34;public&#34;.&#34;teams&#34; (&#34;name&#34;, &#34;slug&#34;)" in page
    assert state()[BOB] == "bob@example.com"  # nothing written while staged
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    committed = writable.post(
        "/staged/commit", data={"version": version.group(1)}, headers=SAME_ORIGIN
    )
    assert committed.status_code == 200
    assert "2 edits committed in one transaction" in committed.text
    assert state()[BOB] == "rob@example.com"
    assert plainsql_conn.execute("SELECT slug FROM teams").fetchall() == [("crew",)]
    plainsql_conn.commit()

    # One good edit and one that breaks users_email_not_blank: refused, nothing written.
    writable.post(
        "/staged",
        data={"kind": "update", "table": "public.users", "k.id": CAROL, "v.name": "Caroline"},
        headers=SAME_ORIGIN,
    )
    writable.post(
        "/staged",
        data={"kind": "update", "table": "public.users", "k.id": ALICE, "v.email": " "},
        headers=SAME_ORIGIN,
    )
    page = writable.get("/staged").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    refused = writable.post(
        "/staged/commit", data={"version": version.group(1)}, headers=SAME_ORIGIN
    )
    assert refused.status_code == 409
    assert "constraint users_email_not_blank" in refused.text
    assert "nothing was written" in refused.text
    assert refused.text.count('<pre class="sql">UPDATE') == 2  # both still staged
    names = dict(plainsql_conn.execute("SELECT id, name FROM users").fetchall())
    plainsql_conn.commit()
    assert names[CAROL] == "Carol"
    assert state()[ALICE] == "alice@example.com"

    # A page older than the list commits nothing; discard empties it.
    stale = writable.post("/staged/commit", data={"version": "1"}, headers=SAME_ORIGIN)
    assert stale.status_code == 409
    assert "changed since that page was shown" in stale.text
    writable.post("/staged/discard", data={"edit": "all"}, headers=SAME_ORIGIN)
    assert 'id="empty"' in writable.get("/staged").text
    assert "staged edit 1: update on public.users" in caplog.text
    assert "staged edits refused at edit 4" in caplog.text
    assert "rob@example.com" not in caplog.text  # the log never shows a value


def test_a_staged_edit_is_typed_bound_and_never_touches_a_secret(
    three_users: None, writable: TestClient, plainsql_conn: psycopg.Connection[Any]
) -> None:
    plainsql_conn.execute(
        "INSERT INTO accounts (id, user_id, account_id, provider_id, password)"
        " VALUES ('acct', %s, %s, 'credential', 'HASH')",
        (BOB, BOB),
    )
    plainsql_conn.commit()
    secret = writable.post(
        "/staged",
        data={"kind": "update", "table": "public.accounts", "k.id": "acct", "v.password": "x"},
        headers=SAME_ORIGIN,
    )
    assert secret.status_code == 400
    assert "is secret" in secret.text
    row = writable.get("/tables/public.accounts/row", params={"k.id": "acct"}).text
    assert 'name="v.password"' not in row
    assert "HASH" not in row
    typed = writable.post(
        "/staged",
        data={"kind": "update", "table": "public.workspaces", "k.id": "1 OR 1=1",
              "v.name": "x"},
        headers=SAME_ORIGIN,
    )  # fmt: skip
    assert typed.status_code == 400
    assert "invalid input syntax for type bigint" in typed.text
    injected = writable.post(
        "/staged",
        data={"kind": "update", "table": "public.users", "k.id": BOB,
              "v.name": "x'); DROP TABLE users; --"},
        headers=SAME_ORIGIN,
    )  # fmt: skip
    assert injected.status_code == 303
    version = re.search(r'name="version" value="(\d+)"', writable.get("/staged").text)
    assert version is not None
    writable.post("/staged/commit", data={"version": version.group(1)}, headers=SAME_ORIGIN)
    name = plainsql_conn.execute("SELECT name FROM users WHERE id = %s", (BOB,)).fetchone()
    assert name == ("x'); DROP TABLE users; --",)
    cross_site = writable.post(
        "/staged",
        data={"kind": "delete", "table": "public.users", "k.id": CAROL},
        headers={"Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status_code == 403
    assert 'id="empty"' in writable.get("/staged").text
