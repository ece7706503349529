"""config.py: where the database comes from, pool settings, and masking of secrets."""

from __future__ import annotations

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
