"""No output shows a password, whatever it holds: the settings' repr and str, `plainsql db url`,
`plainsql status`, and every connection error (a port nobody listens on, a real server that
refuses the login), over URL and key=value forms read with libpq's own rules."""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from plainsql import errors
from plainsql.cli import cli
from plainsql.config import load_settings, mask_url
from plainsql.runtime.pool import open_pool
from plainsql.server import connect

# Every password holds the marker on both sides of the hostile character, so a mask that
# leaves either half behind is caught.
MARK = "Hunter7"

# (name, the password as written in a URL, the password as libpq reads it)
URL_PASSWORDS = [
    ("hash", f"{MARK}#{MARK}", f"{MARK}#{MARK}"),
    ("question mark", f"{MARK}?{MARK}", f"{MARK}?{MARK}"),
    ("encoded slash", f"{MARK}%2F{MARK}", f"{MARK}/{MARK}"),
    ("encoded at", f"{MARK}%40{MARK}", f"{MARK}@{MARK}"),
    ("literal %40", f"{MARK}%2540{MARK}", f"{MARK}%40{MARK}"),
    ("quotes", f"{MARK}'\"{MARK}", f"{MARK}'\"{MARK}"),
    ("encoded space", f"{MARK}%20{MARK}", f"{MARK} {MARK}"),
]
# Passwords libpq cannot take in a URL as written: refused, and not shown in the refusal.
UNUSABLE_URLS = [
    ("raw slash", f"postgresql://app:{MARK}/{MARK}@db.example:5432/app"),
    ("raw space", f"postgresql://app:{MARK} {MARK}@db.example:5432/app"),
    ("two raw at", f"postgresql://app:{MARK}@{MARK}@db.example:5432/app"),
]


def url_forms(host: str, port: str, dbname: str, user: str) -> list[tuple[str, str]]:
    """(name, connection string) in every form, each with a hostile password."""
    at_socket = host.startswith("/")
    where = f"/{dbname}?host={host}&port={port}" if at_socket else f"{host}:{port}/{dbname}"
    forms = []
    for name, written, _ in URL_PASSWORDS:
        forms.append((f"url, {name}", f"postgresql://{user}:{written}@{where}"))
    written = URL_PASSWORDS[0][1]
    forms.append(("sqlalchemy form", f"postgresql+psycopg://{user}:{written}@{where}"))
    forms.append(("postgres scheme", f"postgres://{user}:{written}@{where}"))
    joiner = "&" if at_socket else "?"
    query = f"{where}{joiner}user={user}&password={MARK}%23{MARK}"
    forms.append(("url, password in the query", f"postgresql://{query}"))
    for name, value in [
        ("quoted with spaces", f"'{MARK} {MARK}'"),
        ("quoted with quotes", f"'{MARK}\\' \"{MARK}'"),
        ("escaped, unquoted", f"{MARK}\\ {MARK}"),
        ("hash and at", f"{MARK}#@?/{MARK}"),
    ]:
        forms.append(
            (
                f"key=value, {name}",
                f"host={host} port={port} dbname={dbname} user={user} password={value}",
            )
        )
    return forms


def assert_no_password(text: str) -> None:
    assert MARK not in text, text


def shown_by_settings(project: Path, url: str) -> list[str]:
    settings = load_settings({"DATABASE_URL": url}, project)
    return [repr(settings), str(settings), mask_url(url)]


def run_cli(project: Path, url: str, *args: str) -> str:
    result = CliRunner().invoke(
        cli,
        ["--project-dir", str(project), *args],
        env={"DATABASE_URL": url, "PGPASSWORD": None, "PGHOST": None},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


def connection_error_text(exc: BaseException) -> str:
    """What a person may see of an error: its message, its repr, and the whole traceback."""
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "migrations").mkdir()
    return tmp_path


@pytest.fixture
def refused_role(plainsql_database_url: str) -> Iterator[str]:
    """A role the real server refuses at login (NOLOGIN): the refusal comes from the server."""
    name = f"plainsql_nologin_{secrets.token_hex(4)}"
    with psycopg.connect(plainsql_database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(plainsql_database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


UNREACHABLE = url_forms("127.0.0.1", "1", "app", "app")


@pytest.mark.parametrize(("form", "url"), UNREACHABLE, ids=[f for f, _ in UNREACHABLE])
def test_settings_and_db_url_never_show_the_password(project: Path, form: str, url: str) -> None:
    for text in shown_by_settings(project, url):
        assert_no_password(text)
    shown = run_cli(project, url, "db", "url")
    assert_no_password(shown)
    assert "***" in shown  # masked, not dropped: a person sees there is a password


@pytest.mark.parametrize(("form", "url"), UNREACHABLE, ids=[f for f, _ in UNREACHABLE])
def test_unreachable_server_errors_never_show_the_password(
    project: Path, form: str, url: str
) -> None:
    settings = load_settings({"DATABASE_URL": url}, project)
    with pytest.raises(errors.DatabaseUnavailable) as caught:
        connect(settings)
    assert_no_password(connection_error_text(caught.value))
    with pytest.raises(errors.DatabaseUnavailable) as caught, open_pool(settings):
        pass
    assert_no_password(connection_error_text(caught.value))
    output = run_cli(project, url, "status")
    assert "127.0.0.1:1" in output
    assert_no_password(output)


def test_a_real_server_refusing_the_login_never_shows_the_password(
    project: Path, plainsql_database_url: str, refused_role: str
) -> None:
    params = conninfo_to_dict(plainsql_database_url)
    host = str(params.get("host") or "localhost")
    forms = url_forms(host, str(params.get("port") or 5432), str(params["dbname"]), refused_role)
    for form, url in forms:
        settings = load_settings({"DATABASE_URL": url}, project)
        with pytest.raises(errors.DatabaseUnavailable) as caught:
            connect(settings)
        assert refused_role in str(caught.value), form  # the server's own reason is kept
        assert_no_password(connection_error_text(caught.value))
        output = run_cli(project, url, "status")
        assert "not permitted to log in" in output, (form, output)
        assert_no_password(output)


@pytest.mark.parametrize(("form", "url"), UNUSABLE_URLS, ids=[f for f, _ in UNUSABLE_URLS])
def test_a_url_libpq_cannot_read_is_refused_without_showing_it(
    project: Path, form: str, url: str
) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        load_settings({"DATABASE_URL": url}, project)
    assert_no_password(connection_error_text(caught.value))
    assert_no_password(mask_url(url))
    assert_no_password(run_cli(project, url, "db", "url"))


def test_masked_text_says_what_the_original_says_but_the_password() -> None:
    url = "postgresql://app:p%23w@db.example:6543/app?sslmode=require&password=x%26y"
    assert mask_url(url) == "postgresql://app:***@db.example:6543/app?sslmode=require&password=***"
    masked: dict[str, Any] = conninfo_to_dict(mask_url(url))
    assert masked == {**conninfo_to_dict(url), "password": "***"}
