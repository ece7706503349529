"""plainsql studio on the application's schema: its gate, bound filters, rolled-back runs, masked
secrets, keyset pages. Starlette's TestClient drives the ASGI application in process, on a real
PostgreSQL database (this test's copy of the migrated template)."""

from __future__ import annotations

import html
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from plainsql.config import Settings
from plainsql.migrate.runner import Migrator
from plainsql.studio.app import MASK, Studio, create_app, error_text, is_local
from plainsql.studio.catalog import load_secrets
from plainsql.studio.named import ParamField, form_value
from plainsql.studio.security import cookie_name

from .fixtures import ALICE, add_alice_and_bob

PORT = 4983
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "the-test-token-0123456789"
SAME_ORIGIN = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}


def _client(settings: Settings, plainsql_database_url: str) -> TestClient:
    app = create_app(Studio(settings, plainsql_database_url), token=TOKEN, port=PORT)
    return TestClient(app, base_url=BASE, follow_redirects=False)


@pytest.fixture
def anonymous(plainsql_settings: Settings, plainsql_database_url: str) -> Iterator[TestClient]:
    """A browser that has not opened the token URL."""
    with _client(plainsql_settings, plainsql_database_url) as client:
        yield client


@pytest.fixture
def browser(anonymous: TestClient) -> TestClient:
    """A browser that opened the token URL (it carries the cookie from then on)."""
    assert anonymous.get(f"/?token={TOKEN}").status_code == 303
    return anonymous


def rows_of(html: str) -> list[str]:
    body = html.split('<table class="grid" id="rows">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>\s*<td><a class=\"open\"[^>]*>open</a></td>(.*?)</tr>", body, re.S)


def test_a_request_without_the_token_is_refused(anonymous: TestClient) -> None:
    for path in ("/", "/tables", "/tables/public.users", "/queries", "/static/studio.css"):
        refused = anonymous.get(path)
        assert refused.status_code == 401, path
        assert "location" not in refused.headers
    assert anonymous.post("/queries/auth.get_user_by_id", headers=SAME_ORIGIN).status_code == 401
    assert anonymous.get("/?token=not-the-token").status_code == 403
    anonymous.cookies.set(cookie_name(PORT), "not-the-token")
    assert anonymous.get("/tables").status_code == 401


def test_the_token_url_sets_a_strict_cookie_and_leaves_the_address_bar(
    anonymous: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="plainsql.studio"):
        opened = anonymous.get(f"/tables?token={TOKEN}&sort=id")
        assert opened.status_code == 303
        assert opened.headers["location"] == "/tables?sort=id"
        cookie = opened.headers["set-cookie"]
        assert cookie.startswith(f"plainsql_studio_{PORT}={TOKEN};")
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert anonymous.get("/tables").status_code == 200
    assert "GET /tables 303" in caplog.text
    assert TOKEN not in caplog.text


def test_a_foreign_host_header_is_refused(browser: TestClient) -> None:
    assert browser.get("/", headers={"Host": "attacker.example"}).status_code == 403
    assert browser.get("/", headers={"Host": f"localhost:{PORT}"}).status_code == 200


def test_a_cross_site_post_is_refused(
    browser: TestClient, plainsql_conn: psycopg.Connection[Any]
) -> None:
    form = {"email": "alice@example.com"}
    path = "/queries/auth.get_user_by_email"
    for headers in (
        {"Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://attacker.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": BASE},  # a sibling site: still refused
        {},  # neither header: not from the studio's own page
    ):
        assert browser.post(path, data=form, headers=headers).status_code == 403, headers
    assert browser.post(path, data=form, headers=SAME_ORIGIN).status_code == 200


def test_a_filter_value_is_bound_not_executed(
    browser: TestClient, plainsql_conn: psycopg.Connection[Any]
) -> None:
    add_alice_and_bob(plainsql_conn)
    every = browser.get("/tables/public.users")
    assert len(rows_of(every.text)) == 2
    injected = browser.get("/tables/public.users", params={"f.name": "' OR 1=1 --"})
    assert injected.status_code == 200
    assert rows_of(injected.text) == []
    assert "alice@example.com" not in injected.text
    assert "' OR 1=1 --" in injected.text.replace("&#39;", "'")  # kept in the form
    one = browser.get("/tables/public.users", params={"f.name": "Alice"})
    assert len(rows_of(one.text)) == 1
    assert "alice@example.com" in one.text
    typed = browser.get("/tables/public.workspaces", params={"f.embed_depth": "1 OR 1=1"})
    assert typed.status_code == 400
    assert "invalid input syntax for type integer" in typed.text


def test_an_unknown_column_or_operator_is_refused(browser: TestClient) -> None:
    bad = browser.get("/tables/public.users", params={"f.nope; DROP TABLE users": "x"})
    assert bad.status_code == 400
    assert "has no column" in bad.text
    assert browser.get("/tables/public.users", params={"sort": "name"}).status_code == 400


def test_a_run_of_a_query_whose_function_writes_changes_nothing(
    browser: TestClient, plainsql_conn: psycopg.Connection[Any]
) -> None:
    def counts() -> tuple[int, int]:
        row = plainsql_conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM accounts)"
        ).fetchone()
        plainsql_conn.commit()
        assert row is not None
        return int(row[0]), int(row[1])

    before = counts()
    page = browser.get("/queries/auth.create_user_with_credential")
    assert "SELECT app_sign_up(" in page.text
    ran = browser.post(
        "/queries/auth.create_user_with_credential",
        data={
            "name": "Mallory",
            "email": "m@example.com",
            "username": "",
            "image": "",
            "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        },
        headers=SAME_ORIGIN,
    )
    assert ran.status_code == 400
    assert "read-only transaction" in ran.text
    ran = browser.post(
        "/queries/auth.create_user",
        data={"name": "Mallory", "email": "m@example.com", "username": "", "image": ""},
        headers=SAME_ORIGIN,
    )
    assert "read-only transaction" in ran.text
    assert counts() == before


def test_a_run_with_typed_parameters_shows_a_typed_result(
    browser: TestClient, plainsql_conn: psycopg.Connection[Any]
) -> None:
    add_alice_and_bob(plainsql_conn)
    page = browser.get("/queries/auth.get_user_by_email")
    assert "sql/auth/users.sql:" in page.text
    assert "-- name: get_user_by_email(email)^" in page.text  # the SQL as its file has it
    ran = browser.post(
        "/queries/auth.get_user_by_email", data={"email": "ALICE@example.com"}, headers=SAME_ORIGIN
    )
    assert ran.status_code == 200
    assert "rolled back" in ran.text
    assert "alice@example.com" in ran.text
    assert "user_role" in ran.text


def test_no_secret_column_is_shown_in_clear(
    plainsql_settings: Settings,
    plainsql_database_url: str,
    browser: TestClient,
    plainsql_conn: psycopg.Connection[Any],
) -> None:
    add_alice_and_bob(plainsql_conn)
    password = "$argon2id$v=19$m=65536,t=3,p=4$U0VDUkVUU0FMVA$CLEARTEXTMARKER"
    token = bytes.fromhex("00" * 4) + b"OAUTH-CIPHER-MARKER"
    plainsql_conn.execute(
        "INSERT INTO accounts (id, user_id, account_id, provider_id, password)"
        " VALUES ('acct-pw', %s, %s, 'credential', %s)",
        (ALICE, ALICE, password),
    )
    plainsql_conn.execute(
        "INSERT INTO accounts (id, user_id, account_id, provider_id, access_token)"
        " VALUES ('acct-gh', %s, 'gh-1', 'github', %s)",
        (ALICE, token),
    )
    plainsql_conn.commit()
    token_hex = token.hex()
    grid = browser.get("/tables/public.accounts")
    row = browser.get("/tables/public.accounts/row", params={"k.id": "acct-pw"})
    ran = browser.post(
        "/queries/auth.get_oauth_token_ciphertexts",
        data={"user_id": ALICE, "provider_id": "github", "account_id": "gh-1"},
        headers=SAME_ORIGIN,
    )
    for page in (grid, row, ran):
        assert page.status_code == 200
        assert "CLEARTEXTMARKER" not in page.text
        assert token_hex not in page.text
        assert MASK in page.text
    assert "acct-gh" in ran.text  # the row is there, its tokens masked
    refused = browser.get("/tables/public.accounts", params={"f.password": password})
    assert refused.status_code == 400
    assert "secret" in refused.text

    # The setting masks more columns (here users.email), in the grid and in query results.
    configured = replace(plainsql_settings, studio_secret_columns=("users.email",))
    with _client(configured, plainsql_database_url) as other:
        other.get(f"/?token={TOKEN}")
        assert "alice@example.com" not in other.get("/tables/public.users").text
        ran = other.post(
            "/queries/auth.get_user_by_email",
            data={"email": "alice@example.com"},
            headers=SAME_ORIGIN,
        )
        result = ran.text.split('id="result"', 1)[1]  # the form keeps what was typed
        assert "Alice" in result
        assert "alice@example.com" not in result


def test_an_error_detail_never_shows_a_secret_value(
    plainsql_settings: Settings, plainsql_conn: psycopg.Connection[Any]
) -> None:
    add_alice_and_bob(plainsql_conn)
    digest = bytes(range(32))
    plainsql_conn.execute(
        "INSERT INTO sessions (user_id, token_hash, expires_at) VALUES (%s, %s, now())",
        (ALICE, digest),
    )
    plainsql_conn.commit()
    secrets = load_secrets(plainsql_conn, ())
    with pytest.raises(psycopg.errors.UniqueViolation) as caught:
        plainsql_conn.execute(
            "INSERT INTO sessions (user_id, token_hash, expires_at) VALUES (%s, %s, now())",
            (ALICE, digest),
        )
    plainsql_conn.rollback()
    assert digest.hex() in str(caught.value)  # the server's detail does hold it ...
    shown = error_text(caught.value, secrets)
    assert "sessions_token_hash_key" in shown
    assert digest.hex() not in shown  # ... the studio's page does not


def test_rows_are_paged_by_key_and_a_link_reopens_the_view(
    browser: TestClient, plainsql_conn: psycopg.Connection[Any]
) -> None:
    with plainsql_conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO users (id, name, email) VALUES (%s, %s, %s)",
            [(f"u{n:03}", f"User {n}", f"u{n}@example.com") for n in range(120)],
        )
    plainsql_conn.commit()
    first = browser.get("/tables/public.users", params={"limit": "50"})
    ids = re.findall(r"<td>(u\d{3})</td>", first.text)
    assert ids == [f"u{n:03}" for n in range(50)]
    next_link = re.search(r'href="([^"]+)" id="next"', first.text)
    assert next_link is not None
    second = browser.get(next_link.group(1).replace("&amp;", "&"))
    assert re.findall(r"<td>(u\d{3})</td>", second.text) == [f"u{n:03}" for n in range(50, 100)]
    backwards = browser.get("/tables/public.users", params={"sort": "id", "desc": "1"})
    assert re.findall(r"<td>(u\d{3})</td>", backwards.text)[:2] == ["u119", "u118"]


def test_plainsql_help_does_not_import_the_studio() -> None:
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from plainsql.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('starlette' in sys.modules, 'jinja2' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "studio" in shown
    assert shown.strip().endswith("False False")


@pytest.mark.parametrize(
    ("conninfo", "local"),
    [
        ("host=/work/project/.plainsql/pgdata port=5432 dbname=app", True),
        ("postgresql://app@127.0.0.1:5432/app", True),
        ("postgresql://app@localhost/app", True),
        ("postgresql://app:secret@db.internal:5432/app", False),
        ("postgresql://app@localhost,db.internal/app", False),
    ],
)
def test_a_database_elsewhere_is_told_apart(conninfo: str, local: bool) -> None:
    assert is_local(conninfo) is local


def test_the_parameter_form_follows_the_servers_types(browser: TestClient) -> None:
    page = browser.get("/queries/projects.upsert_agent_state").text
    assert re.search(r'<textarea name="generated_files" id="p.generated_files"', page)  # text[]
    assert re.search(r'<textarea name="phases" id="p.phases"[^>]*placeholder=\'\{"key"', page)
    assert "one element per line" in page


def test_an_array_field_becomes_an_array_literal() -> None:
    field = ParamField("paths", "text[]", "array")
    assert form_value(field, 'src/a.py\n\nsrc/"b".py \n') == '{"src/a.py","src/\\"b\\".py"}'
    assert form_value(field, "{x,y}") == "{x,y}"  # a literal is taken as written
    assert form_value(field, "  ") is None  # an empty field is NULL
    assert form_value(ParamField("n", "integer", "number"), " 7 ") == "7"


def test_the_migrations_page_shows_states_sql_and_the_drift_report(
    plainsql_settings: Settings, browser: TestClient
) -> None:
    with Migrator(plainsql_settings) as migrator:
        last = migrator.files[-1]
        assert migrator.rollback(steps=1) == [last.id]
    page = browser.get("/migrations")
    assert page.status_code == 200
    assert page.text.count('<span class="badge pending">pending</span>') == 1
    assert last.id in page.text
    # Unescaped: the page writes an apostrophe as &#39;, html.escape as &#x27;.
    assert (last.rollback_text or "").splitlines()[0] in html.unescape(page.text)
    drift = browser.get("/migrations/drift")
    assert drift.status_code == 200
    assert f"Pending (not drift): {last.id}" in drift.text
    assert "No drift" in drift.text


def test_with_write_a_run_is_committed(
    plainsql_settings: Settings, plainsql_database_url: str, plainsql_conn: psycopg.Connection[Any]
) -> None:
    app = create_app(
        Studio(plainsql_settings, plainsql_database_url, write=True), token=TOKEN, port=PORT
    )
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        ran = client.post(
            "/queries/auth.create_user",
            data={"name": "Wanda", "email": "wanda@example.com", "username": "", "image": ""},
            headers=SAME_ORIGIN,
        )
    assert ran.status_code == 200
    assert "committed" in ran.text
    found = plainsql_conn.execute(
        "SELECT name FROM users WHERE email = 'wanda@example.com'"
    ).fetchall()
    assert found == [("Wanda",)]
