"""config.py: where the database comes from, pool settings, and masking of secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plainsql.config import (
    DatabaseSource,
    describe_target,
    find_project_dir,
    load_settings,
    mask_url,
    normalize_url,
)
from plainsql.errors import ConfigError


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "migrations").mkdir()
    return tmp_path


def test_environment_url_wins_over_dotenv(project: Path) -> None:
    (project / ".env").write_text("DATABASE_URL=postgresql://dotenv@h1/db1\n")
    settings = load_settings({"DATABASE_URL": "postgresql://env@h2/db2"}, project)
    assert settings.database_url == "postgresql://env@h2/db2"
    assert settings.source is DatabaseSource.ENVIRONMENT


def test_dotenv_url_used_when_environment_has_none(project: Path) -> None:
    (project / ".env").write_text("DATABASE_URL=postgresql://dotenv@h1/db1\n")
    settings = load_settings({}, project)
    assert settings.database_url == "postgresql://dotenv@h1/db1"
    assert settings.source is DatabaseSource.DOTENV


def test_libpq_variables_leave_the_target_to_libpq(project: Path) -> None:
    settings = load_settings({"PGHOST": "db.internal", "PGDATABASE": "app"}, project)
    assert settings.source is DatabaseSource.LIBPQ
    assert settings.database_url == ""


def test_nothing_configured_means_embedded_in_the_project_folder(project: Path) -> None:
    settings = load_settings({}, project)
    assert settings.uses_embedded
    assert settings.database_url is None
    assert settings.pgdata_dir == project.resolve() / ".plainsql" / "pgdata"


def test_pool_settings_have_defaults_and_read_the_environment(project: Path) -> None:
    defaults = load_settings({}, project)
    assert (defaults.pool_min_size, defaults.pool_max_size) == (1, 10)
    assert defaults.pool_max_idle == 30.0
    assert defaults.connect_timeout == 5
    tuned = load_settings(
        {"PLAINSQL_POOL_MAX_SIZE": "20", "PLAINSQL_STATEMENT_TIMEOUT_MS": "1500"}, project
    )
    assert tuned.pool_max_size == 20
    assert tuned.statement_timeout_ms == 1500


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PLAINSQL_POOL_MAX_SIZE", "lots"),
        ("PLAINSQL_POOL_MAX_SIZE", "0"),
        ("PLAINSQL_CONNECT_TIMEOUT", "-3"),
    ],
)
def test_bad_numbers_are_a_config_error_naming_the_variable(
    project: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match="PLAINSQL_"):
        load_settings({name: value}, project)


def test_sqlalchemy_style_urls_are_accepted() -> None:
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgres://u@h/db"


def test_a_malformed_url_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        normalize_url("postgresql://u:hunter2@h:notaport/db?sslmode")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db?password=s3cret", "postgresql://u@h/db?password=***"),
        ("host=h user=u password=s3cret dbname=db", "host=h user=u password=*** dbname=db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_mask_url_hides_every_form_of_password(url: str, expected: str) -> None:
    assert mask_url(url) == expected
    assert "s3cret" not in mask_url(url)


def test_describe_target_names_host_port_and_database() -> None:
    assert describe_target("postgresql://u:s3cret@10.0.0.9:6543/app") == "10.0.0.9:6543/app"


def test_project_dir_is_found_from_a_subfolder(project: Path) -> None:
    nested = project / "src" / "deep"
    nested.mkdir(parents=True)
    assert find_project_dir(nested) == project.resolve()


def test_settings_come_from_the_tool_table_and_the_environment_overrides_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.plainsql]\n"
        'sql-dir = "db/queries"\n'
        'migrations-dir = "db/migrations"\n'
        'typegen-flavours = ["async"]\n'
        "pool-max-size = 4\n"
    )
    (tmp_path / ".env").write_text("PLAINSQL_POOL_MAX_SIZE=6\n")
    settings = load_settings({}, tmp_path)
    assert settings.sql_dir == tmp_path.resolve() / "db" / "queries"
    assert settings.migrations_dir == tmp_path.resolve() / "db" / "migrations"
    assert settings.typegen_flavours == ("async",)
    assert settings.pool_max_size == 6, ".env beats pyproject.toml"
    assert settings.updated_at_function is None, "no updated_at convention unless configured"
    overridden = load_settings(
        {"PLAINSQL_POOL_MAX_SIZE": "8", "PLAINSQL_SQL_DIR": "elsewhere"}, tmp_path
    )
    assert overridden.pool_max_size == 8
    assert overridden.sql_dir == tmp_path.resolve() / "elsewhere"


def test_an_unknown_key_or_a_bad_value_names_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.plainsql]\nsql_dir = "q"\n')
    with pytest.raises(ConfigError, match=r"'sql_dir'.*sql-dir"):
        load_settings({}, tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.plainsql]\ntypegen-flavours = ["fast"]\n')
    with pytest.raises(ConfigError, match="typegen-flavours"):
        load_settings({}, tmp_path)


def test_the_project_is_found_from_its_tool_table_and_from_the_running_script(
    tmp_path: Path,
) -> None:
    project = tmp_path / "app"
    (project / "scripts").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.plainsql]\nseeds-dir = "fixtures"\n')
    (project / "scripts" / "where.py").write_text(
        "from plainsql.config import load_settings\n"
        "s = load_settings({})\n"
        "print(s.project_dir, s.seeds_dir.name)\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shown = subprocess.run(
        [sys.executable, str(project / "scripts" / "where.py")],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown == [str(project.resolve()), "fixtures"]
    assert find_project_dir(project / "scripts") == project.resolve()


def test_the_readme_lists_every_setting() -> None:
    from plainsql.config import options_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert options_table() in readme


def test_the_repr_of_settings_masks_the_password(tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://app:hunter2@db/app"}, tmp_path)
    shown = repr(settings)
    assert "hunter2" not in shown
    assert "postgresql://app:***@db/app" in shown


def test_a_url_with_an_unencoded_at_in_the_password_is_refused_showing_none_of_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATABASE_URL": "postgresql://app:p@ss@word@db.internal/app"}, tmp_path)
    message = str(caught.value)
    assert "%40" in message
    for part in ("p@ss", "ss@word", "word@db", "db.internal", "app:p"):
        assert part not in message
    encoded = load_settings({"DATABASE_URL": "postgresql://app:p%40ss@db/app"}, tmp_path)
    assert encoded.database_url == "postgresql://app:p%40ss@db/app"


def test_pgbouncer_true_on_the_url_declares_a_transaction_pooler_and_leaves_the_url(
    project: Path,
) -> None:
    url = "postgresql://app:secret@bouncer:6432/app?sslmode=require&pgbouncer=true"
    settings = load_settings({"DATABASE_URL": url}, project)
    assert settings.transaction_pooler
    assert settings.database_url == "postgresql://app:secret@bouncer:6432/app?sslmode=require"
    plain = load_settings({"DATABASE_URL": "postgresql://app@db/app"}, project)
    assert not plain.transaction_pooler
    assert not plain.pooler_prepared_statements
    with pytest.raises(ConfigError, match="pgbouncer"):
        load_settings({"DATABASE_URL": "postgresql://app@db/app?pgbouncer=maybe"}, project)


def test_the_direct_url_comes_from_the_environment_or_dotenv_and_is_masked(
    project: Path,
) -> None:
    (project / ".env").write_text("DIRECT_URL=postgres://app:hunter2@db-primary/app\n")
    settings = load_settings(
        {"DATABASE_URL": "postgresql://app:hunter2@bouncer:6432/app?pgbouncer=true"}, project
    )
    assert settings.direct_url == "postgres://app:hunter2@db-primary/app"
    assert "hunter2" not in repr(settings)
    env = {"DIRECT_URL": "postgresql+psycopg://app@db-env/app", "PLAINSQL_TRANSACTION_POOLER": "1"}
    settings = load_settings(env, project)
    assert settings.direct_url == "postgresql://app@db-env/app"
    assert settings.transaction_pooler
    with pytest.raises(ConfigError, match="DIRECT_URL"):
        load_settings({"DIRECT_URL": "postgresql://app@bouncer/app?pgbouncer=true"}, project)


def test_replica_urls_come_from_a_toml_list_or_a_spaced_variable_and_are_masked(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.plainsql]\n"
        'replica-urls = ["postgresql://app:s3cret@r1/app", "postgres://app@r2:5433/app"]\n'
        'replica-max-lag = "500ms"\n'
    )
    settings = load_settings({}, tmp_path)
    assert settings.replica_urls == (
        "postgresql://app:s3cret@r1/app",
        "postgres://app@r2:5433/app",
    )
    assert settings.replica_max_lag_ms == 500
    assert settings.replica_poll_ms == 100
    assert "s3cret" not in repr(settings)
    assert "postgresql://app:***@r1/app" in repr(settings)
    # The environment wins; a multi-host URL keeps its comma.
    env = {"PLAINSQL_REPLICA_URLS": " postgresql://a@h1,h2/app  postgresql://b@h3/app "}
    assert load_settings(env, tmp_path).replica_urls == (
        "postgresql://a@h1,h2/app",
        "postgresql://b@h3/app",
    )
    assert load_settings({"PLAINSQL_REPLICA_URLS": ""}, tmp_path).replica_urls == (
        "postgresql://app:s3cret@r1/app",
        "postgres://app@r2:5433/app",
    )


def test_a_bad_replica_url_is_named_by_its_place_and_never_shown(project: Path) -> None:
    secret = "pa@ss"
    with pytest.raises(ConfigError) as bad:
        load_settings(
            {"PLAINSQL_REPLICA_URLS": f"postgresql://ok@r1/app postgresql://app:{secret}@r2/app"},
            project,
        )
    assert "PLAINSQL_REPLICA_URLS, URL 2," in str(bad.value)
    assert secret not in str(bad.value)
    with pytest.raises(ConfigError, match="URL 1, says pgbouncer=true"):
        load_settings({"PLAINSQL_REPLICA_URLS": "postgresql://r1/app?pgbouncer=true"}, project)
    with pytest.raises(ConfigError, match="at least 10ms"):
        load_settings(
            {"PLAINSQL_REPLICA_URLS": "postgresql://r1/app", "PLAINSQL_REPLICA_POLL": "1ms"},
            project,
        )
