"""Least privilege and row-level security (migrations 0050, 0051), tried with raw SQL as the
application role reference_app, the way a careless query or an attacker would.

The user-owned tables are found in the catalog (every table with a foreign-key path to users
or teams) and compared with the contract's list (../shared/reference-schema.md). User A owns a
row in each; user B, acting through plainsql's runtime with ``transaction-role``, reads,
updates and deletes none of them and cannot insert one for A, while it handles its own rows
normally; with no acting user nothing is visible.

Section 4 (issue 25): the cross-user paths (the video queue, the purges) are refused to
reference_app and work as reference_worker; the paths left to reference_app check their
caller (email verification needs a value made for that user, an invitation needs its invitee,
a soft delete its own user), and B learns nothing about A or other ids through them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from plainsql import Conn, Database, Settings, open_pool
from plainsql.cli import cli
from plainsql.errors import PermissionDenied, QueryError

ROLE = "reference_app"
WORKER = "reference_worker"
A, B = "rls-a", "rls-b"
INDEX = {A: 1, B: 2}

# The contract's list: users and every table holding a user's rows directly or through a parent.
CONTRACT_TABLES = {
    "users", "sessions", "accounts", "agents", "meetings",
    "video_summaries", "video_summary_tags", "video_summary_categories", "keyframes",
    "projects", "project_files", "agent_states",
    "workspaces", "nodes", "git_repositories", "deployment_history",
    "teams", "team_members", "team_invitations",
}  # fmt: skip
# Tables with a key to users or teams that the role cannot touch at all: reached only through
# explicit paths (verifications, the password reset requests) or written only by a trigger
# (the last-owner guard).
CLOSED_TABLES = {"verifications", "team_owner_guards", "password_reset_requests"}

# One row of the user %(u)s (number %(k)s) per table, parents first; %(n)s tells rows apart.
# Keys are derived from the user, so a statement can name another user's parent rows.
ROWS: dict[str, str] = {
    "users": "INSERT INTO users (id, name, email) VALUES (%(u)s || '-guest', 'guest', %(u)s ||"
    " '-guest@example.com')",
    "sessions": "INSERT INTO sessions (id, user_id, token_hash, expires_at) VALUES ("
    "%(u)s || '-s' || %(n)s, %(u)s, sha256(convert_to(%(u)s || %(n)s, 'UTF8')), now() + '1 day')",
    "accounts": "INSERT INTO accounts (id, user_id, account_id, provider_id) VALUES ("
    "%(u)s || '-a' || %(n)s, %(u)s, %(u)s || %(n)s, 'github')",
    "teams": "INSERT INTO teams (id, name, slug) VALUES (md5('team' || %(u)s || %(n)s)::uuid,"
    " 'team', 'team-' || %(u)s || %(n)s)",
    "team_members": "INSERT INTO team_members (team_id, user_id, role) VALUES"
    " (md5('team' || %(u)s || '1')::uuid, %(u)s || '-guest', 'MEMBER')",
    "team_invitations": "INSERT INTO team_invitations (team_id, user_id, invited_by) VALUES"
    " (md5('team' || %(u)s || '1')::uuid, %(u)s || '-invitee' || %(n)s, %(u)s)",
    "workspaces": "INSERT INTO workspaces (id, user_id, slug, name) VALUES"
    " (%(k)s * 1000 + %(n)s, %(u)s, 'ws-' || %(u)s || %(n)s, 'ws')",
    "nodes": "INSERT INTO nodes (uuid, workspace_id, page_name, slug, title) VALUES"
    " (md5('node' || %(u)s || %(n)s)::uuid, %(k)s * 1000 + 1, 'p' || %(n)s, 'p', 'P')",
    "git_repositories": "INSERT INTO git_repositories (workspace_id, repo_url) VALUES"
    " (%(k)s * 1000 + 1, 'https://example.com/' || %(n)s)",
    "deployment_history": "INSERT INTO deployment_history (workspace_id, commit_sha, status)"
    " VALUES (%(k)s * 1000 + 1, 'c' || %(n)s, 'success')",
    "projects": "INSERT INTO projects (id, user_id, name, description) VALUES"
    " (md5('project' || %(u)s || %(n)s)::uuid, %(u)s, 'p', 'd')",
    "project_files": "INSERT INTO project_files (project_id, path, content) VALUES"
    " (md5('project' || %(u)s || '1')::uuid, 'f' || %(n)s, 'x')",
    "agent_states": "INSERT INTO agent_states (project_id) VALUES"
    " (md5('project' || %(u)s || '1')::uuid)",
    "agents": "INSERT INTO agents (id, name, user_id, instructions) VALUES"
    " (%(u)s || '-agent' || %(n)s, 'a', %(u)s, 'i')",
    "meetings": "INSERT INTO meetings (id, name, user_id, agent_id) VALUES"
    " (%(u)s || '-m' || %(n)s, 'm', %(u)s, %(u)s || '-agent1')",
    "video_summaries": "INSERT INTO video_summaries (id, user_id, youtube_url, youtube_id, title)"
    " VALUES (%(u)s || '-v' || %(n)s, %(u)s, 'https://youtu.be/x', 'y' || %(n)s, 't')",
    "video_summary_tags": "INSERT INTO video_summary_tags (video_summary_id, tag_id) VALUES"
    " (%(u)s || '-v1', 'tag' || %(n)s)",
    "video_summary_categories": "INSERT INTO video_summary_categories"
    " (video_summary_id, category_id) VALUES (%(u)s || '-v1', 'cat' || %(n)s)",
    "keyframes": "INSERT INTO keyframes (id, video_summary_id, timestamp_seconds, image_url)"
    " VALUES (%(u)s || '-k' || %(n)s, %(u)s || '-v1', 1, 'https://example.com/k.png')",
}
# A column every UPDATE may set to itself (the role may update it).
TOUCH = {
    "users": "name", "sessions": "user_agent", "accounts": "scope", "teams": "name",
    "team_members": "role", "workspaces": "name", "nodes": "title",
    "git_repositories": "branch", "deployment_history": "error_log", "projects": "name",
    "project_files": "content", "agent_states": "current_state", "agents": "name",
    "meetings": "name", "video_summaries": "title", "video_summary_tags": "tag_id",
    "video_summary_categories": "category_id", "keyframes": "image_url",
    "team_invitations": "role",
}  # fmt: skip
# Tables the role may not UPDATE at all (an invitation is made, accepted or withdrawn).
NO_UPDATE = {"team_invitations"}
# Inserted by the owner for both users: the user rows themselves, and the creator's OWNER
# membership (the role creates a team through app_create_team(), tested below), and the
# members (who join by accepting an invitation, app_accept_team_invitation()).
OWNER_ONLY = ("users", "teams", "team_members")


def _params(user: str, n: int = 1) -> dict[str, Any]:
    return {"u": user, "k": INDEX[user], "n": n}


def _seed(conn: Conn, user: str) -> None:
    """As the owner: the user, a guest user of its own, and one row of every table."""
    conn.execute(
        "INSERT INTO users (id, name, email) VALUES (%s, %s, %s)", (user, user, f"{user}@x.io")
    )
    for table, statement in ROWS.items():
        conn.execute(statement, _params(user))
        if table == "teams":
            conn.execute(
                "INSERT INTO team_members (team_id, user_id, role)"
                " VALUES (md5('team' || %s || '1')::uuid, %s, 'OWNER')",
                (user, user),
            )
    conn.commit()


@pytest.fixture
def app_db(plainsql_settings: Settings) -> Iterator[Database]:
    """plainsql's runtime acting as reference_app, over a pool of one connection (reused)."""
    settings = replace(plainsql_settings, transaction_role=ROLE, pool_min_size=1, pool_max_size=1)
    with open_pool(settings) as pool:
        yield Database(pool, settings)


@pytest.fixture
def seeded(plainsql_conn: Conn) -> None:
    plainsql_conn.execute("INSERT INTO tags (id, name) VALUES ('tag1', 'one'), ('tag2', 'two')")
    plainsql_conn.execute(
        "INSERT INTO categories (id, name) VALUES ('cat1', 'one'), ('cat2', 'two')"
    )
    _seed(plainsql_conn, A)
    _seed(plainsql_conn, B)


def _user_owned_tables(conn: Conn) -> set[str]:
    """Tables with a foreign-key path to users or teams, read from the catalog."""
    edges = conn.execute(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint AS c"
        " WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
    ).fetchall()
    owned = {"users", "teams"}
    while True:
        more = {child for child, parent in edges if parent in owned} - owned
        if not more:
            return owned
        owned |= more


def _count(conn: Conn, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


# Which rows of each table belong to the user %(u)s (number %(k)s): see ROWS.
OWNED_BY = {
    "users": "t.id IN (%(u)s, %(u)s || '-guest')",
    "teams": "t.slug LIKE 'team-' || %(u)s || '%%'",
    "team_members": "t.team_id = md5('team' || %(u)s || '1')::uuid",
    "team_invitations": "t.team_id = md5('team' || %(u)s || '1')::uuid",
    "nodes": "t.workspace_id = %(k)s * 1000 + 1",
    "git_repositories": "t.workspace_id = %(k)s * 1000 + 1",
    "deployment_history": "t.workspace_id = %(k)s * 1000 + 1",
    "project_files": "t.project_id = md5('project' || %(u)s || '1')::uuid",
    "agent_states": "t.project_id = md5('project' || %(u)s || '1')::uuid",
    "video_summary_tags": "t.video_summary_id = %(u)s || '-v1'",
    "video_summary_categories": "t.video_summary_id = %(u)s || '-v1'",
    "keyframes": "t.video_summary_id = %(u)s || '-v1'",
}


def _owned_by(table: str) -> sql.Composable:
    return sql.SQL(OWNED_BY.get(table, "t.user_id = %(u)s"))


def _rows_of(conn: Conn, table: str, user: str) -> int:
    """How many of ``table``'s rows belong to ``user`` that ``conn`` can see."""
    query = sql.SQL("SELECT count(*) FROM {} AS t WHERE {}").format(
        sql.Identifier(table), _owned_by(table)
    )
    row = conn.execute(query, _params(user)).fetchone()
    assert row is not None
    return int(row[0])


def test_the_user_owned_tables_in_the_catalog_are_the_contract_s_and_all_force_rls(
    plainsql_conn: Conn,
) -> None:
    assert _user_owned_tables(plainsql_conn) == CONTRACT_TABLES | CLOSED_TABLES
    flags = dict(
        plainsql_conn.execute(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        ).fetchall()
    )
    assert {t for t in CONTRACT_TABLES | CLOSED_TABLES if not flags[t]} == set()
    assert set(ROWS) == CONTRACT_TABLES, "this test seeds every user-owned table"
    held = plainsql_conn.execute(
        "SELECT c.relname FROM pg_class AS c, LATERAL aclexplode(c.relacl) AS p"
        " WHERE c.relname = any(%s) AND p.grantee = ANY(ARRAY[%s::regrole, %s::regrole])",
        (sorted(CLOSED_TABLES), ROLE, WORKER),
    ).fetchall()
    assert held == [], "no application role holds a privilege on a closed table"


def test_b_sees_updates_deletes_none_of_a_s_rows_and_cannot_insert_one_for_a(
    plainsql_conn: Conn, app_db: Database, seeded: None
) -> None:
    before = {table: _rows_of(plainsql_conn, table, A) for table in CONTRACT_TABLES}
    assert all(before.values()), before
    for table in sorted(CONTRACT_TABLES):
        name, column = sql.Identifier(table), sql.Identifier(TOUCH[table])
        with app_db.transaction(acting_user=B) as unit:
            seen = _rows_of(unit, table, A)
            updated = 0
            if table not in NO_UPDATE:
                updated = unit.execute(
                    sql.SQL("UPDATE {t} AS t SET {c} = t.{c} WHERE {w}").format(
                        t=name, c=column, w=_owned_by(table)
                    ),
                    _params(A),
                ).rowcount
            deleted = unit.execute(
                sql.SQL("DELETE FROM {t} AS t WHERE {w}").format(t=name, w=_owned_by(table)),
                _params(A),
            ).rowcount
        assert (seen, updated, deleted) == (0, 0, 0), table
        with pytest.raises(PermissionDenied), app_db.transaction(acting_user=B) as unit:
            unit.execute(ROWS[table], _params(A, 2))
    plainsql_conn.rollback()  # a fresh snapshot is not needed in READ COMMITTED; end the idle one
    assert {table: _rows_of(plainsql_conn, table, A) for table in CONTRACT_TABLES} == before


def test_b_handles_its_own_rows_normally(
    plainsql_conn: Conn, app_db: Database, seeded: None
) -> None:
    tables = [t for t in ROWS if t not in OWNER_ONLY]
    with app_db.transaction(acting_user=B) as unit:
        for table in ROWS:
            assert _rows_of(unit, table, B) >= 1, table
            assert _count(unit, table) == _rows_of(unit, table, B), table
            if table in NO_UPDATE:
                continue
            column = sql.Identifier(TOUCH[table])
            updated = unit.execute(
                sql.SQL("UPDATE {t} SET {c} = {c}").format(t=sql.Identifier(table), c=column)
            ).rowcount
            assert updated >= 1, table
        for table in reversed(tables):
            # The team keeps its OWNER (the last-owner rule); its guest member goes.
            keep = " WHERE role = 'MEMBER'" if table == "team_members" else ""
            deleted = unit.execute(
                sql.SQL("DELETE FROM {}").format(sql.Identifier(table)) + sql.SQL(keep)
            )
            assert deleted.rowcount >= 1, table
        for table in tables:  # the same rows again, as the role
            unit.execute(ROWS[table], _params(B))
    for table in tables:
        assert _rows_of(plainsql_conn, table, B) >= 1, table
    with app_db.transaction(acting_user=B) as unit:  # its team first: it is the only OWNER
        assert unit.execute("DELETE FROM teams").rowcount == 1
        assert unit.execute("DELETE FROM users WHERE id = %s", (B,)).rowcount == 1


def test_with_no_acting_user_every_table_reads_empty_also_on_a_reused_connection(
    plainsql_conn: Conn, app_db: Database, seeded: None
) -> None:
    with app_db.transaction(acting_user=B) as unit:
        assert _count(unit, "users") == 1
        pid = unit.info.backend_pid
    with app_db.transaction() as unit:
        assert unit.info.backend_pid == pid, "the pool's one connection, reused"
        setting = unit.execute("SELECT current_setting('app.user_id', true)").fetchone()
        assert setting == ("",), "the earlier unit's setting reads '' on this connection"
        counts = {table: _count(unit, table) for table in CONTRACT_TABLES}
    assert counts == dict.fromkeys(CONTRACT_TABLES, 0)
    with pytest.raises(PermissionDenied), app_db.transaction() as unit:
        unit.execute(ROWS["workspaces"], _params(B, 5))


# --- 2. escalations ------------------------------------------------------------------------


def test_escalations_as_the_application_role_fail(
    plainsql_conn: Conn, app_db: Database, seeded: None
) -> None:
    team = f"md5('team' || '{A}' || '1')::uuid"
    plainsql_conn.execute(
        f"INSERT INTO team_members (team_id, user_id, role) VALUES ({team}, %s, 'MEMBER')", (B,)
    )
    plainsql_conn.commit()
    with app_db.transaction(acting_user=B) as unit:
        promoted = unit.execute(
            f"UPDATE team_members SET role = 'OWNER' WHERE team_id = {team} AND user_id = %s",
            (B,),
        ).rowcount
        demoted = unit.execute(
            f"UPDATE team_members SET role = 'MEMBER' WHERE team_id = {team} AND user_id = %s",
            (A,),
        ).rowcount
        removed = unit.execute(
            f"DELETE FROM team_members WHERE team_id = {team} AND user_id = %s", (A,)
        ).rowcount
        renamed = unit.execute(f"UPDATE teams SET name = 'mine' WHERE id = {team}").rowcount
        deleted = unit.execute(f"DELETE FROM teams WHERE id = {team}").rowcount
    assert (promoted, demoted, removed, renamed, deleted) == (0, 0, 0, 0, 0)
    roles = plainsql_conn.execute(
        f"SELECT user_id, role::text FROM team_members WHERE team_id = {team} ORDER BY user_id"
    ).fetchall()
    assert roles == [(A, "OWNER"), (f"{A}-guest", "MEMBER"), (B, "MEMBER")]
    refused: list[tuple[str, tuple[str, ...] | None]] = [
        ("UPDATE users SET role = 'OWNER' WHERE id = %s", (B,)),
        ("UPDATE tags SET name = 'renamed' WHERE id = 'tag1'", ()),
        ("DELETE FROM tags WHERE id = 'tag1'", ()),
        ("UPDATE categories SET name = 'renamed' WHERE id = 'cat1'", ()),
        ("DELETE FROM categories WHERE id = 'cat1'", ()),
        ("SELECT count(*) FROM audit_log", ()),
        (
            "INSERT INTO audit_log (table_name, action, row_key, new_row)"
            " VALUES ('users', 'INSERT', '{}', '{}')",
            (),
        ),
        ("DELETE FROM audit_log", ()),
        ("INSERT INTO users (id, name, email) VALUES ('x', 'x', 'x@x.io')", ()),
        ("INSERT INTO teams (name, slug) VALUES ('x', 'x')", ()),
        ("TRUNCATE sessions", ()),
        ("CREATE TABLE public.mine (id int)", ()),
        ("ALTER TABLE users DISABLE ROW LEVEL SECURITY", ()),
        ("SET LOCAL row_security = off; SELECT count(*) FROM workspaces", None),
        ("SELECT team_assert_has_owner(gen_random_uuid())", ()),
        # issue 25: B's own row's guarded columns, the verifications, a member added directly
        ("UPDATE users SET email_verified = true WHERE id = %s", (B,)),
        ("UPDATE users SET email = 'a-too@x.io' WHERE id = %s", (B,)),
        ("UPDATE users SET deleted_at = NULL WHERE id = %s", (B,)),
        ("SELECT count(*) FROM verifications", ()),
        ("DELETE FROM verifications", ()),
        (
            "INSERT INTO verifications (identifier, value_hash, expires_at)"
            " VALUES ('rls-a@x.io', sha256('x'), now() + interval '1 hour')",
            (),
        ),
        (
            "INSERT INTO team_members (team_id, user_id)"
            " VALUES (md5('team' || 'rls-b' || '1')::uuid, %s)",
            (A,),
        ),
        ("SELECT * FROM team_owner_guards", ()),
    ]
    for statement, params in refused:
        with pytest.raises(QueryError) as caught, app_db.transaction(acting_user=B) as unit:
            unit.execute(statement, params)
        assert caught.value.sqlstate == "42501" or isinstance(caught.value, PermissionDenied), (
            statement
        )
    assert plainsql_conn.execute("SELECT role::text FROM users WHERE id = %s", (B,)).fetchone() == (
        "MEMBER",
    )
    assert plainsql_conn.execute("SELECT name FROM tags WHERE id = 'tag1'").fetchone() == ("one",)
    with app_db.transaction(acting_user=B) as unit:  # readable and insertable, though
        unit.execute("INSERT INTO tags (id, name) VALUES ('tag3', 'three')")
        assert _count(unit, "tags") == 3
        assert _count(unit, "categories") == 2


def test_the_role_holds_no_ownership_ddl_or_bypass(plainsql_conn: Conn) -> None:
    role = plainsql_conn.execute(
        "SELECT rolsuper, rolcanlogin, rolbypassrls, rolcreatedb, rolcreaterole"
        " FROM pg_roles WHERE rolname = %s",
        (ROLE,),
    ).fetchone()
    assert role == (False, False, False, False, False)
    owned = plainsql_conn.execute(
        "SELECT count(*) FROM pg_class WHERE relowner = %s::regrole", (ROLE,)
    ).fetchone()
    assert owned == (0,)
    extra = plainsql_conn.execute(
        "SELECT c.relname, p.privilege_type FROM pg_class AS c,"
        " LATERAL aclexplode(c.relacl) AS p"
        " WHERE c.relnamespace = 'public'::regnamespace AND p.grantee = %s::regrole"
        " AND p.privilege_type NOT IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'USAGE')",
        (ROLE,),
    ).fetchall()
    assert extra == []
    schema = plainsql_conn.execute(
        "SELECT has_schema_privilege(%s, 'public', 'CREATE')", (ROLE,)
    ).fetchone()
    assert schema == (False,)


# --- 3. the explicit paths -----------------------------------------------------------------


def _scalar(unit: Conn, statement: str, params: tuple[Any, ...] = ()) -> Any:
    row = unit.execute(statement, params).fetchone()
    assert row is not None
    return row[0]


def test_the_explicit_paths_work_as_the_role(
    plainsql_conn: Conn, app_db: Database, seeded: None
) -> None:
    with app_db.transaction() as unit:  # nobody acts yet
        new_id = _scalar(
            unit,
            "SELECT app_sign_up('Cy', 'cy@x.io', NULL, NULL, '$argon2id$fake')",
        )
        credential = unit.execute("SELECT * FROM app_credential_by_email('CY@x.io')").fetchall()
        assert credential == [(new_id, "$argon2id$fake")]
        token_hash = "sha256(convert_to(%s, 'UTF8'))"  # B's seeded session (see ROWS)
        assert _scalar(unit, f"SELECT app_session_user({token_hash})", (B + "1",)) == B
        assert _scalar(unit, "SELECT app_session_user('\\x00'::bytea)") is None
    with app_db.transaction(acting_user=B) as unit:
        team_id = _scalar(unit, "SELECT app_create_team('New', 'new-team')")
        assert _scalar(unit, "SELECT name FROM teams WHERE id = %s", (team_id,)) == "New"
        unit.execute(
            "INSERT INTO team_invitations (team_id, user_id, invited_by) VALUES (%s, %s, %s)",
            (team_id, new_id, B),
        )
        unit.execute("UPDATE users SET name = 'Bee' WHERE id = %s", (B,))
    with app_db.transaction(acting_user=new_id) as unit:  # the invitee accepts: a member
        assert _scalar(unit, "SELECT app_accept_team_invitation(%s)", (team_id,)) == "MEMBER"
        directory = unit.execute(
            "SELECT user_id, email, role::text FROM app_team_directory(%s) ORDER BY email",
            (team_id,),
        ).fetchall()
        assert directory == [(new_id, "cy@x.io", "MEMBER"), (B, f"{B}@x.io", "OWNER")]
        page = "SELECT user_id, joined_at FROM app_team_directory_page(%s, %s, %s, 1)"
        ((first, joined_at),) = unit.execute(page, (team_id, "-infinity", "")).fetchall()
        assert first == B  # in the order they joined: the creator first
        after_b = unit.execute(page, (team_id, joined_at, B)).fetchall()
        assert [user_id for user_id, _ in after_b] == [new_id]
    with app_db.transaction(acting_user=A) as unit:  # not a member: an empty directory
        assert unit.execute("SELECT * FROM app_team_directory(%s)", (team_id,)).fetchall() == []
        assert (
            unit.execute(
                "SELECT * FROM app_team_directory_page(%s, '-infinity', '', 10)", (team_id,)
            ).fetchall()
            == []
        )
    trail = plainsql_conn.execute(
        "SELECT table_name, action, acting_user_id FROM audit_log"
        " WHERE acting_user_id = any(%s) ORDER BY id",
        ([B, new_id],),
    ).fetchall()
    assert trail == [
        ("teams", "INSERT", B),
        ("team_members", "INSERT", B),
        ("users", "UPDATE", B),
        ("team_members", "INSERT", new_id),
    ]


@pytest.mark.parametrize(
    ("function", "call"),
    [
        ("app_sign_up(text, text, text, text, text)",
         "SELECT app_sign_up('Cy', 'cy@x.io', NULL, NULL, 'h')"),
        ("app_credential_by_email(text)", "SELECT * FROM app_credential_by_email('a@x.io')"),
        ("app_session_user(bytea)", "SELECT app_session_user('\\x00'::bytea)"),
        ("app_create_team(text, text)", "SELECT app_create_team('T', 't')"),
        ("app_team_directory(uuid)", "SELECT * FROM app_team_directory(gen_random_uuid())"),
        ("app_team_directory_page(uuid, timestamptz, text, integer)",
         "SELECT * FROM app_team_directory_page(gen_random_uuid(), '-infinity', '', 10)"),
        ("app_credential_by_login(text)", "SELECT * FROM app_credential_by_login('a')"),
        ("app_acting_user_is_admin()", "SELECT app_acting_user_is_admin()"),
        ("app_set_user_role(text, user_role)", "SELECT app_set_user_role('x', 'MEMBER')"),
        ("app_set_tag_description(text, text)", "SELECT app_set_tag_description('x', 'd')"),
        ("app_set_category_description(text, text)",
         "SELECT app_set_category_description('x', 'd')"),
        ("app_search_meetings(text, text, timestamptz, text, integer)",
         "SELECT app_search_meetings('x', 'm', 'infinity', '', 10)"),
        ("app_search_video_summaries(text, text, integer)",
         "SELECT app_search_video_summaries('x', 'v', 10)"),
        ("app_search_nodes(bigint, text, integer)", "SELECT app_search_nodes(1, 'n', 10)"),
        ("app_create_verification(text, bytea, interval)",
         "SELECT * FROM app_create_verification('x', '\\x00', '1 hour')"),
        ("app_consume_verification(text, bytea)",
         "SELECT * FROM app_consume_verification('x', '\\x00')"),
        ("app_request_email_verification(bytea, interval)",
         "SELECT * FROM app_request_email_verification('\\x00', '1 hour')"),
        ("app_verify_email(text, bytea)", "SELECT app_verify_email('x', '\\x00')"),
        ("app_request_email_change(text, bytea, interval)",
         "SELECT * FROM app_request_email_change('x', '\\x00', '1 hour')"),
        ("app_confirm_email_change(text, bytea)",
         "SELECT app_confirm_email_change('x', '\\x00')"),
        ("app_soft_delete_user(text)", "SELECT app_soft_delete_user('x')"),
        ("app_accept_team_invitation(uuid)",
         "SELECT app_accept_team_invitation(gen_random_uuid())"),
        ("app_team_invitations_of_acting_user()",
         "SELECT * FROM app_team_invitations_of_acting_user()"),
        ("app_request_password_reset(text)", "SELECT app_request_password_reset('x')"),
        ("app_reset_password(bytea, text)",
         "SELECT * FROM app_reset_password('\\x00', 'h')"),
    ],
)  # fmt: skip
def test_without_its_grant_a_path_is_refused(
    plainsql_conn: Conn, app_db: Database, seeded: None, function: str, call: str
) -> None:
    plainsql_conn.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM {ROLE}")
    plainsql_conn.commit()
    with pytest.raises(PermissionDenied), app_db.transaction(acting_user=B) as unit:
        unit.execute(call)


def test_the_search_paths_find_only_the_acting_user_s_own_rows(
    plainsql_conn: Conn, app_db: Database, seeded: None
) -> None:
    """The search paths run as the owner (so that an index can serve their match): asked for
    another user's rows, or with no acting user, they find nothing, even where that user's
    rows match."""
    plainsql_conn.execute("UPDATE video_summaries SET title = 'Budget review'")
    plainsql_conn.execute("UPDATE meetings SET name = 'Budget review'")
    plainsql_conn.execute("UPDATE nodes SET title = 'Budget review'")
    plainsql_conn.commit()
    # path -> (its call for a user's rows, each user's key to it, B's row it finds)
    searches: dict[str, tuple[str, dict[str, Any], str]] = {
        "video": (
            "SELECT array_agg(i::text) FROM app_search_video_summaries(%s, 'budget', 10) AS i",
            {A: A, B: B}, f"{B}-v1"),
        "meeting": (
            "SELECT array_agg(i::text) FROM app_search_meetings(%s, 'budget', 'infinity', '',"
            " 10) AS i", {A: A, B: B}, f"{B}-m1"),
        "node": (  # the user's first workspace: see ROWS
            "SELECT array_agg(i::text) FROM app_search_nodes(%s, 'budget', 10) AS i",
            {A: INDEX[A] * 1000 + 1, B: INDEX[B] * 1000 + 1},
            _scalar(plainsql_conn, "SELECT md5('node' || %s || 1)::uuid::text", (B,))),
    }  # fmt: skip
    for what, (search, key, b_s_row) in searches.items():
        with app_db.transaction(acting_user=B) as unit:
            assert _scalar(unit, search, (key[B],)) == [b_s_row], what
            assert _scalar(unit, search, (key[A],)) is None, what
        with app_db.transaction() as unit:
            assert _scalar(unit, search, (key[A],)) is None, what
    with pytest.raises(QueryError) as caught, app_db.transaction(acting_user=B) as unit:
        unit.execute("SELECT app_search_video_summaries(%s, 'budget', 0)", (B,))
    assert caught.value.sqlstate == "22023"


# --- 4. cross-user work is the worker's; the paths left to the role check their caller ----


WORKER_PATHS = [
    ("app_claim_videos(text, integer, integer, integer)",
     "SELECT * FROM app_claim_videos('w', 10, 60, 3)"),
    ("app_complete_video(text, uuid, jsonb)",
     "SELECT app_complete_video('rls-a-v1', md5('claim')::uuid, '{\"summary\": \"B\"}')"),
    ("app_fail_video(text, uuid, text, integer)",
     "SELECT app_fail_video('rls-a-v1', md5('claim')::uuid, 'B', 1)"),
    ("app_claim_meetings(text, integer, integer, integer)",
     "SELECT * FROM app_claim_meetings('w', 10, 60, 3)"),
    ("app_complete_meeting(text, uuid, text, text, text)",
     "SELECT app_complete_meeting('rls-a-m1', md5('claim')::uuid, 't', 'r', 'B')"),
    ("app_fail_meeting(text, uuid, text, integer)",
     "SELECT * FROM app_fail_meeting('rls-a-m1', md5('claim')::uuid, 'B', 1)"),
    ("app_delete_expired_sessions(integer)", "SELECT app_delete_expired_sessions(100)"),
    ("app_purge_deleted_teams(integer)", "SELECT app_purge_deleted_teams(-100000000)"),
    ("app_delete_expired_verifications(integer)",
     "SELECT app_delete_expired_verifications(100)"),
    ("app_issue_password_reset(bytea, interval)",
     "SELECT * FROM app_issue_password_reset(sha256('chosen'), '1 hour')"),
    ("app_archive_audit_entries(integer, integer)", "SELECT app_archive_audit_entries(0, 100)"),
]  # fmt: skip


@pytest.fixture
def worker_db(app_db: Database) -> Database:
    """The same pool, its units acting as reference_worker (no acting user)."""
    return app_db.with_transaction_role(WORKER)


@pytest.fixture
def a_s_cross_user_rows(plainsql_conn: Conn, seeded: None) -> list[tuple[Any, ...]]:
    """A's video in processing under a known claim, an expired session, a team soft-deleted
    a year ago, an expired verification; yields a snapshot of them to compare with."""
    plainsql_conn.execute(
        "UPDATE video_summaries SET processing_status = 'processing', processing_attempts = 1,"
        " claim_token = md5('claim')::uuid, claimed_until = now() + interval '1 hour'"
        " WHERE id = 'rls-a-v1'"
    )
    plainsql_conn.execute(
        "INSERT INTO video_summaries (id, user_id, youtube_url, youtube_id, title)"
        " VALUES ('rls-a-pending', %s, 'https://youtu.be/p', 'p', 'pending')",
        (A,),
    )
    plainsql_conn.execute(
        "INSERT INTO sessions (id, user_id, token_hash, expires_at)"
        " VALUES ('rls-a-old', %s, sha256('old'), now() - interval '1 day')",
        (A,),
    )
    plainsql_conn.execute(
        "UPDATE teams SET deleted_at = now() - interval '365 days'"
        " WHERE id = md5('team' || %s || '1')::uuid",
        (A,),
    )
    plainsql_conn.execute(
        "INSERT INTO verifications (identifier, value_hash, expires_at, user_id)"
        " VALUES (%s, sha256('a-secret'), now() - interval '1 minute', %s)",
        (f"{A}@x.io", A),
    )
    plainsql_conn.execute("INSERT INTO password_reset_requests (user_id) VALUES (%s)", (A,))
    plainsql_conn.commit()
    return _cross_user_snapshot(plainsql_conn)


def _cross_user_snapshot(conn: Conn) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT 'video', id, processing_status::text, processing_attempts,"
        " coalesce(ai_generated_content::text, '') FROM video_summaries WHERE user_id = %s"
        " UNION ALL SELECT 'session', id, '', 0, '' FROM sessions WHERE user_id = %s"
        " UNION ALL SELECT 'team', id::text, coalesce(deleted_at::text, ''), 0, '' FROM teams"
        " WHERE slug LIKE 'team-' || %s || '%%'"
        " UNION ALL SELECT 'verification', id, identifier, 0, '' FROM verifications"
        " UNION ALL SELECT 'reset request', user_id, '', 0, '' FROM password_reset_requests"
        " UNION ALL SELECT 'audit', id::text, table_name, 0, '' FROM audit_log"
        " UNION ALL SELECT 'user', id, email, email_verified::int, coalesce(deleted_at::text, '')"
        " FROM users WHERE id = %s ORDER BY 1, 2",
        (A, A, A, A),
    ).fetchall()
    conn.commit()
    return rows


@pytest.mark.parametrize(("function", "call"), WORKER_PATHS)
def test_b_as_the_application_role_cannot_run_a_worker_path(
    plainsql_conn: Conn,
    app_db: Database,
    a_s_cross_user_rows: list[tuple[Any, ...]],
    function: str,
    call: str,
) -> None:
    for acting_user in (B, None):
        with pytest.raises(PermissionDenied), app_db.transaction(acting_user=acting_user) as unit:
            unit.execute(call)
    assert _cross_user_snapshot(plainsql_conn) == a_s_cross_user_rows
    granted = plainsql_conn.execute(
        "SELECT has_function_privilege(%s, %s, 'EXECUTE'),"
        " has_function_privilege(%s, %s, 'EXECUTE')",
        (ROLE, function, WORKER, function),
    ).fetchone()
    assert granted == (False, True)


def test_the_worker_paths_work_as_the_worker_role(
    plainsql_conn: Conn, worker_db: Database, a_s_cross_user_rows: list[tuple[Any, ...]]
) -> None:
    with worker_db.transaction() as unit:
        claimed = unit.execute("SELECT id FROM app_claim_videos('w', 10, 60, 3)").fetchall()
        assert ("rls-a-pending",) in claimed
        assert _scalar(
            unit, "SELECT app_complete_video('rls-a-v1', md5('claim')::uuid, '{}')"
        ) is True  # fmt: skip
        assert _scalar(unit, "SELECT app_delete_expired_sessions(100)") == 1
        assert _scalar(unit, "SELECT app_delete_expired_verifications(100)") == 1
        assert _scalar(unit, "SELECT app_purge_deleted_teams(30 * 86400)") == 1
        issued = unit.execute(
            "SELECT user_id, email FROM app_issue_password_reset(sha256('made'), '1 hour')"
        ).fetchall()
        assert issued == [(A, f"{A}@x.io")]
        assert _scalar(unit, "SELECT app_archive_audit_entries(0, 10000)") > 0
    # The worker reads no table directly: only its paths.
    for table in (
        "video_summaries", "sessions", "teams", "users", "verifications",
        "password_reset_requests", "audit_log", "audit_log_archive",
    ):  # fmt: skip
        with pytest.raises(PermissionDenied), worker_db.transaction() as unit:
            unit.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    after = _cross_user_snapshot(plainsql_conn)
    moved = [r for r in a_s_cross_user_rows if r[0] in ("audit", "reset request")]
    assert moved
    assert set(moved).isdisjoint(after)  # archived, issued
    assert [r[1] for r in after if r[0] == "team"] == []
    assert ("session", "rls-a-old", "", 0, "") not in after


@pytest.mark.parametrize("retention", [-100000000, -1, 315360001])
def test_a_retention_out_of_bounds_purges_nothing(
    plainsql_conn: Conn,
    worker_db: Database,
    a_s_cross_user_rows: list[tuple[Any, ...]],
    retention: int,
) -> None:
    with pytest.raises(QueryError) as caught, worker_db.transaction() as unit:
        unit.execute("SELECT app_purge_deleted_teams(%s)", (retention,))
    assert caught.value.sqlstate == "22023"
    with pytest.raises(QueryError) as caught, worker_db.transaction() as unit:
        unit.execute("SELECT app_delete_expired_sessions(0)")
    assert caught.value.sqlstate == "22023"
    assert _cross_user_snapshot(plainsql_conn) == a_s_cross_user_rows


def test_b_cannot_verify_a_s_email_without_a_value_made_for_a(
    plainsql_conn: Conn, app_db: Database, a_s_cross_user_rows: list[tuple[Any, ...]]
) -> None:
    a_email, b_email = f"{A}@x.io", f"{B}@x.io"
    with app_db.transaction(acting_user=B) as unit:
        # The old path is gone; a value made up for A's email (tied to no user) verifies
        # nothing, nor does B's own value, nor A's (expired) one.
        assert _scalar(
            unit, "SELECT count(*) FROM pg_proc WHERE proname = 'app_mark_email_verified'"
        ) == 0  # fmt: skip
        unit.execute(
            "SELECT * FROM app_create_verification(%s, sha256('made-up'), '1 hour')", (a_email,)
        )
        assert _scalar(unit, "SELECT app_verify_email(%s, sha256('made-up'))", (a_email,)) is None
        made = unit.execute(
            "SELECT identifier FROM app_request_email_verification(sha256('b-value'), '1 hour')"
        ).fetchall()
        assert made == [(b_email,)], "a value is made for the acting user's own email only"
        assert _scalar(unit, "SELECT app_verify_email(%s, sha256('b-value'))", (a_email,)) is None
        assert _scalar(unit, "SELECT app_verify_email(%s, sha256('a-secret'))", (a_email,)) is None
        # Taking A's email through the change flow: the unique email refuses it.
        unit.execute(
            "SELECT * FROM app_request_email_change(%s, sha256('take'), '1 hour')", (a_email,)
        )
    with pytest.raises(QueryError) as caught, app_db.transaction(acting_user=B) as unit:
        unit.execute("SELECT app_confirm_email_change(%s, sha256('take'))", (a_email,))
    assert caught.value.sqlstate == "23505"
    with app_db.transaction(acting_user=B) as unit:  # B's own value verifies B
        assert _scalar(unit, "SELECT app_verify_email(%s, sha256('b-value'))", (b_email,)) == B
        assert _scalar(unit, "SELECT app_soft_delete_user(%s)", (A,)) is None
    snapshot = _cross_user_snapshot(plainsql_conn)
    assert [r for r in snapshot if r[0] == "user"] == [
        r for r in a_s_cross_user_rows if r[0] == "user"
    ]


def test_b_cannot_make_a_a_member_nor_accept_for_a_nor_learn_which_ids_are_users(
    plainsql_conn: Conn, app_db: Database, seeded: None
) -> None:
    b_team, a_team = (f"md5('team' || '{u}' || '1')::uuid" for u in (B, A))
    with app_db.transaction(acting_user=B) as unit:
        for invitee in (A, "no-such-user"):  # the same answer for a user and for no user
            inserted = unit.execute(
                f"INSERT INTO team_invitations (team_id, user_id, invited_by)"
                f" VALUES ({b_team}, %s, %s) RETURNING user_id",
                (invitee, B),
            ).fetchall()
            assert inserted == [(invitee,)]
        assert _scalar(unit, f"SELECT app_accept_team_invitation({b_team})") is None
        directory = unit.execute(f"SELECT user_id FROM app_team_directory({b_team})").fetchall()
        assert (A,) not in directory, "invited, not a member"
        assert _count(unit, "team_invitations") == 3  # its seeded one and these two
        assert (
            _scalar(unit, "SELECT count(*) FROM pg_proc WHERE proname = 'app_user_is_active'") == 0
        )
    with pytest.raises(PermissionDenied), app_db.transaction(acting_user=B) as unit:
        unit.execute(
            "INSERT INTO team_invitations (team_id, user_id, invited_by)"
            f" VALUES ({a_team}, %s, %s)",
            (B, B),
        )
    with app_db.transaction(acting_user=A) as unit:  # A sees B's invitation, and declines
        mine = unit.execute(
            "SELECT team_slug FROM app_team_invitations_of_acting_user()"
        ).fetchall()
        assert mine == [(f"team-{B}1",)]
        assert unit.execute(
            f"DELETE FROM team_invitations WHERE team_id = {b_team} AND user_id = %s", (A,)
        ).rowcount == 1  # fmt: skip
    members = plainsql_conn.execute(
        f"SELECT count(*) FROM team_members WHERE team_id = {b_team} AND user_id = %s", (A,)
    ).fetchone()
    assert members == (0,)


def test_the_worker_role_holds_no_login_ownership_table_or_bypass(plainsql_conn: Conn) -> None:
    role = plainsql_conn.execute(
        "SELECT rolsuper, rolcanlogin, rolbypassrls, rolcreatedb, rolcreaterole"
        " FROM pg_roles WHERE rolname = %s",
        (WORKER,),
    ).fetchone()
    assert role == (False, False, False, False, False)
    tables = plainsql_conn.execute(
        "SELECT count(*) FROM pg_class AS c, LATERAL aclexplode(c.relacl) AS p"
        " WHERE c.relnamespace = 'public'::regnamespace AND p.grantee = %s::regrole",
        (WORKER,),
    ).fetchone()
    assert tables == (0,)


def test_without_security_definer_the_audit_trigger_cannot_write(
    plainsql_conn: Conn, app_db: Database, seeded: None
) -> None:
    plainsql_conn.execute("ALTER FUNCTION audit_log_record() SECURITY INVOKER")
    plainsql_conn.commit()
    with pytest.raises(PermissionDenied), app_db.transaction(acting_user=B) as unit:
        unit.execute("UPDATE users SET name = 'Bee' WHERE id = %s", (B,))


def test_the_owner_is_not_bound_by_the_policies(
    plainsql_conn: Conn, plainsql_database_url: str, seeded: None
) -> None:
    """Migrations and seeds run as the owner (a superuser here): it sees both users' rows."""
    with psycopg.connect(plainsql_database_url) as owner:
        row = owner.execute("SELECT count(*) FROM workspaces").fetchone()
    assert row == (2,)


# --- the role is the cluster's -------------------------------------------------------------


def test_rolling_back_the_role_leaves_it_to_the_other_databases_and_takes_this_one_s_grants(
    plainsql_database_url: str,
) -> None:
    """This test's database is one of several on the cluster holding grants to the role (the
    session's template at least): rolling back here must neither fail nor drop it for them."""
    runner = CliRunner()
    settings_env = {"DATABASE_URL": plainsql_database_url}
    result = runner.invoke(cli, ["rollback", "--to", "0044_video_library"], env=settings_env)
    assert result.exit_code == 0, result.output
    with psycopg.connect(plainsql_database_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = %s", (ROLE,)
        ).fetchone() == (1,)
        held = conn.execute(
            "SELECT count(*) FROM pg_shdepend WHERE refobjid = %s::regrole"
            " AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (ROLE,),
        ).fetchone()
        assert held == (0,), "nothing in this database refers to the role any more"
        others = conn.execute(
            "SELECT count(DISTINCT dbid) FROM pg_shdepend WHERE refobjid = %s::regrole", (ROLE,)
        ).fetchone()
        assert others is not None
        assert others[0] >= 1, "the template still holds its grants"
    result = runner.invoke(cli, ["migrate"], env=settings_env)
    assert result.exit_code == 0, result.output


# --- the notes site's visitors (20261207022311) ----------------------------------------------

VISITOR = "reference_visitor"


@pytest.fixture
def visitor_db(app_db: Database) -> Database:
    """The same pool, its units acting as reference_visitor (Database.with_transaction_role)."""
    return app_db.with_transaction_role(VISITOR)


def test_a_visitor_reads_every_workspace_s_pages_by_slug_and_by_domain(
    plainsql_conn: Conn, visitor_db: Database, seeded: None
) -> None:
    plainsql_conn.execute("UPDATE workspaces SET domain = 'Notes.A.example' WHERE id = 1001")
    plainsql_conn.commit()
    page = (
        "SELECT n.page_name FROM workspaces AS w JOIN nodes AS n ON n.workspace_id = w.id"
        " WHERE {} AND n.parent_uuid IS NULL"
    )
    with visitor_db.transaction(read_only=True) as unit:
        assert unit.execute("SELECT current_user").fetchone() == (VISITOR,)
        setting = unit.execute("SELECT current_setting('app.user_id', true)").fetchone()
        assert setting in {(None,), ("",)}, "no acting user"
        by_slug = {
            user: unit.execute(page.format("w.slug = %s"), (f"ws-{user}1",)).fetchall()
            for user in (A, B)
        }
        by_domain = unit.execute(
            page.format("lower(w.domain) = lower(%s)"), ("notes.a.EXAMPLE",)
        ).fetchall()
        public = unit.execute(
            "SELECT id, slug, name, domain, embed_depth FROM workspaces ORDER BY id"
        ).fetchall()
    assert by_slug == {A: [("p1",)], B: [("p1",)]}
    assert by_domain == [("p1",)]
    assert [row[:2] for row in public] == [(1001, f"ws-{A}1"), (2001, f"ws-{B}1")]


def test_a_visitor_reads_nothing_else_and_writes_nothing(
    plainsql_conn: Conn, visitor_db: Database, seeded: None
) -> None:
    tables = [
        name
        for (name,) in plainsql_conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " AND relkind IN ('r', 'p', 'v', 'm') ORDER BY relname"
        ).fetchall()
    ]
    assert {"users", "sessions", "verifications", "audit_log", "teams"} <= set(tables)
    read: dict[str, int] = {}
    for table in tables:
        if table in {"workspaces", "nodes"}:
            continue
        try:
            with visitor_db.transaction(read_only=True) as unit:
                read[table] = _count(unit, table)
        except PermissionDenied:
            continue
    assert not read, f"no grant expected on {sorted(read)}"
    refused = [
        "SELECT user_id FROM workspaces",
        "SELECT created_at FROM workspaces",
        "SELECT * FROM workspaces",
        "INSERT INTO workspaces (user_id, slug, name) VALUES ('rls-a', 'mine', 'mine')",
        "UPDATE workspaces SET name = 'mine'",
        "UPDATE workspaces SET domain = 'mine.example' WHERE id = 1001",
        "DELETE FROM workspaces",
        "INSERT INTO nodes (uuid, workspace_id, page_name, slug, title)"
        " VALUES (gen_random_uuid(), 1001, 'x', 'x', 'x')",
        "UPDATE nodes SET title = 'mine'",
        "DELETE FROM nodes",
        "TRUNCATE nodes",
        "SELECT app_session_user('\\x00'::bytea)",
        "SELECT app_credential_by_email('rls-a@x.io')",
    ]
    for statement in refused:
        with pytest.raises(PermissionDenied, match="permission denied"):  # noqa: PT012
            with visitor_db.transaction() as unit:
                unit.execute(statement)
            pytest.fail(f"not refused: {statement}")
    assert _rows_of(plainsql_conn, "workspaces", A) == 1
    assert plainsql_conn.execute("SELECT count(*) FROM nodes WHERE title = 'P'").fetchone() == (
        2,
    ), "both users' nodes unchanged"


def test_the_visitor_role_holds_no_ownership_or_bypass(plainsql_conn: Conn) -> None:
    role = plainsql_conn.execute(
        "SELECT rolsuper, rolcanlogin, rolbypassrls, rolcreatedb, rolcreaterole"
        " FROM pg_roles WHERE rolname = %s",
        (VISITOR,),
    ).fetchone()
    assert role == (False, False, False, False, False)
    privileges = plainsql_conn.execute(
        "SELECT table_name, privilege_type FROM information_schema.role_table_grants"
        " WHERE grantee = %s ORDER BY 1, 2",
        (VISITOR,),
    ).fetchall()
    assert privileges == [("nodes", "SELECT")]
    columns = plainsql_conn.execute(
        "SELECT column_name FROM information_schema.column_privileges"
        " WHERE grantee = %s AND table_name = 'workspaces' ORDER BY 1",
        (VISITOR,),
    ).fetchall()
    assert [c for (c,) in columns] == ["domain", "embed_depth", "id", "name", "slug"]
