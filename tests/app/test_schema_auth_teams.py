"""Migrations 0004-0009, the seed file and the queries of auth, teams and audit, on a real server.

- ``plainsql migrate`` creates exactly the objects listed below, ``plainsql rollback --all``
  leaves none of them, and each migration goes forward, back and forward again cleanly;
- ``seeds/0110_auth_teams.sql`` is idempotent and its users sign in with the demo password;
- every named query under sql/auth, sql/teams and sql/audit prepares against the schema.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from click.testing import CliRunner

from plainsql import AsyncDatabase, Settings, load_async_queries, open_async_pool
from plainsql.cli import cli
from plainsql.migrate.runner import Migrator
from plainsql.seed import run_seeds
from plainsql.testing import TestServer
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UserRole
from reference_apps.services.auth import AuthService
from reference_apps.services.teams import TeamService

MINE = [
    "0004_sessions",
    "0005_accounts",
    "0006_verifications",
    "0007_teams",
    "0008_team_members",
    "0009_audit_log",
]

EXPECTED_OBJECTS = {
    # sessions
    "table:sessions",
    "index:sessions_pkey",
    "index:sessions_token_key",
    "index:sessions_user_id_idx",
    "index:sessions_expires_at_idx",
    "constraint:sessions:sessions_pkey",
    "constraint:sessions:sessions_token_key",
    "constraint:sessions:sessions_user_id_fkey",
    "constraint:sessions:sessions_token_not_blank",
    "trigger:sessions:sessions_set_updated_at",
    # accounts
    "table:accounts",
    "index:accounts_pkey",
    "index:accounts_provider_id_account_id_key",
    "index:accounts_user_id_idx",
    "constraint:accounts:accounts_pkey",
    "constraint:accounts:accounts_provider_id_account_id_key",
    "constraint:accounts:accounts_user_id_fkey",
    "constraint:accounts:accounts_provider_id_not_blank",
    "constraint:accounts:accounts_account_id_not_blank",
    "constraint:accounts:accounts_password_only_credential",
    "trigger:accounts:accounts_set_updated_at",
    # verifications
    "table:verifications",
    "index:verifications_pkey",
    "index:verifications_identifier_idx",
    "index:verifications_expires_at_idx",
    "constraint:verifications:verifications_pkey",
    "constraint:verifications:verifications_identifier_not_blank",
    "constraint:verifications:verifications_value_not_blank",
    "trigger:verifications:verifications_set_updated_at",
    # teams
    "table:teams",
    "index:teams_pkey",
    "index:teams_slug_key",
    "constraint:teams:teams_pkey",
    "constraint:teams:teams_slug_key",
    "constraint:teams:teams_name_not_blank",
    "constraint:teams:teams_slug_not_blank",
    "trigger:teams:teams_set_updated_at",
    # team_members and the owner rule
    "table:team_members",
    "index:team_members_pkey",
    "index:team_members_user_id_idx",
    "constraint:team_members:team_members_pkey",
    "constraint:team_members:team_members_team_id_fkey",
    "constraint:team_members:team_members_user_id_fkey",
    "function:team_assert_has_owner(uuid)",
    "function:team_members_keep_an_owner()",
    "function:users_keep_team_owners()",
    "trigger:team_members:team_members_keep_an_owner",
    "trigger:users:users_keep_team_owners",
    # audit_log
    "table:audit_log",
    "sequence:audit_log_id_seq",
    "index:audit_log_pkey",
    "index:audit_log_table_name_row_key_idx",
    "index:audit_log_acting_user_id_idx",
    "constraint:audit_log:audit_log_pkey",
    "constraint:audit_log:audit_log_action_check",
    "constraint:audit_log:audit_log_rows_match_action",
    "function:audit_log_record()",
    "trigger:users:users_audit",
    "trigger:teams:teams_audit",
    "trigger:team_members:team_members_audit",
}

_CATALOG = """
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence'
       ELSE 'relation-' || c.relkind::text END || ':' || c.relname
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relname !~ '^(_?yoyo|plainsql_migration_)'
UNION ALL
SELECT 'type:' || t.typname
FROM pg_type AS t
WHERE t.typnamespace = 'public'::regnamespace AND t.typrelid = 0 AND t.typcategory <> 'A'
UNION ALL
SELECT 'function:' || p.oid::regprocedure::text
FROM pg_proc AS p
WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger:' || tg.tgrelid::regclass::text || ':' || tg.tgname
FROM pg_trigger AS tg
JOIN pg_class AS c ON c.oid = tg.tgrelid
WHERE NOT tg.tgisinternal AND c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'constraint:' || co.conrelid::regclass::text || ':' || co.conname
FROM pg_constraint AS co
JOIN pg_class AS c ON c.oid = co.conrelid
WHERE c.relnamespace = 'public'::regnamespace AND c.relname !~ '^(_?yoyo|plainsql_migration_)'
    AND co.contype <> 'n'  -- PostgreSQL 18 lists NOT NULL columns as constraints too
UNION ALL
SELECT 'extension:' || e.extname  -- what a migration installed (pg_trgm, btree_gin)
FROM pg_extension AS e
WHERE e.extname <> 'plpgsql'
"""


def catalog(url: str) -> set[str]:
    """Every table, index, sequence, type, function, trigger and constraint in public, and
    every extension."""
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute(_CATALOG)}


def run_cli(settings: Settings, url: str, *args: str) -> str:
    result = CliRunner().invoke(
        cli, ["--project-dir", str(settings.project_dir), *args], env={"DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_migrate_creates_exactly_these_objects_and_rollback_all_removes_them(
    plainsql_server: TestServer, plainsql_empty_database_url: str
) -> None:
    settings = plainsql_server.settings
    with Migrator(settings, plainsql_empty_database_url) as migrator:
        migrator.migrate(to="0003")
    before = catalog(plainsql_empty_database_url)

    output = run_cli(settings, plainsql_empty_database_url, "migrate", "--to", MINE[-1])

    assert all(f"applied {m}" in output for m in MINE)
    assert catalog(plainsql_empty_database_url) - before == EXPECTED_OBJECTS
    run_cli(settings, plainsql_empty_database_url, "migrate")  # and everything after them

    run_cli(settings, plainsql_empty_database_url, "rollback", "--all")

    assert catalog(plainsql_empty_database_url) == set()


SEED_PASSWORD = "plainsql-demo-password"


async def test_the_seed_is_idempotent_and_its_users_sign_in_with_the_demo_password(
    plainsql_settings: Settings, plainsql_database_url: str
) -> None:
    run_seeds(plainsql_settings)
    counts = _seed_counts(plainsql_database_url)
    run_seeds(plainsql_settings)
    assert _seed_counts(plainsql_database_url) == counts == (3, 3, 2, 4)

    q = AsyncTypedQueries(load_async_queries(plainsql_settings.sql_dir))
    async with open_async_pool(plainsql_settings) as pool:
        db = AsyncDatabase(pool, plainsql_settings)
        auth = AuthService(db, q)  # the default hasher: the seed hashes are current
        teams = TeamService(db, q)
        for name in ("alice", "bob", "carol"):
            signed_in = await auth.sign_in(email=f"{name}@example.com", password=SEED_PASSWORD)
            assert signed_in.user.id == f"seed-user-{name}"
        for slug in ("acme", "globex"):  # bob is in both
            team = await teams.get_team_by_slug(slug, acting_user_id="seed-user-bob")
            members = (await teams.list_members(team.id, acting_user_id="seed-user-bob")).items
            assert any(m.role == UserRole.OWNER for m in members), slug


def _seed_counts(url: str) -> tuple[int, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM accounts),"
            " (SELECT count(*) FROM teams), (SELECT count(*) FROM team_members)"
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_the_seed_file_documents_the_demo_password() -> None:
    seed = Path(__file__).resolve().parents[2] / "seeds" / "0110_auth_teams.sql"
    assert SEED_PASSWORD in seed.read_text(encoding="utf-8")
