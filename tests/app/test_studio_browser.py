"""plainsql studio end to end in a real headless browser: the distribution's Chromium, driven by
Selenium through the distribution's chromedriver, against `plainsql studio` started as a user
starts it (a subprocess printing its URL). A screenshot of each page goes to
test-artifacts/studio/ (git-ignored).

Without Chromium these tests are skipped, loudly, except in CI (CI=true), where they fail:
.ci/run installs `chromium chromium-driver` before the standalone step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from plainsql.config import Settings
from plainsql.seed import run_seeds

pytestmark = pytest.mark.standalone

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "studio"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _need_chromium() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if not missing:
        return
    reason = (
        f"studio browser tests need the distribution's Chromium: {', '.join(missing)} missing "
        "(apt-get install -y chromium chromium-driver)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _start_studio(settings: Settings, database_url: str, *options: str) -> Iterator[str]:
    """`plainsql studio --port 0 [options]` on this test's database, seeded plus 60 users."""
    _need_chromium()
    run_seeds(settings, database_url)
    with psycopg.connect(database_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO users (id, name, email) VALUES (%s, %s, %s)",
            [(f"user-{n:03}", f"User {n}", f"user{n}@example.com") for n in range(60)],
        )
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plainsql",
            "--project-dir",
            str(REPO),
            "studio",
            "--port",
            "0",
            *options,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = None
        for line in process.stdout:
            found = re.search(r"open (http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "plainsql studio printed no URL"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def studio_url(plainsql_settings: Settings, plainsql_database_url: str) -> Iterator[str]:
    """`plainsql studio` (read-only): its URL."""
    yield from _start_studio(plainsql_settings, plainsql_database_url)


@pytest.fixture
def writable_studio_url(plainsql_settings: Settings, plainsql_database_url: str) -> Iterator[str]:
    """`plainsql studio --write`: its URL."""
    yield from _start_studio(plainsql_settings, plainsql_database_url, "--write")


@pytest.fixture
def driver() -> Iterator[Any]:
    _need_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-gpu",
    ):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


def shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def follow(driver: Any, by: str, value: str) -> None:
    """Click the link or submit button found by (``by``, ``value``) and wait for the page it
    loads: a form's submission is not always waited for by the click, and reading the old
    page while the new one replaces it fails with a stale element."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(by, value).click()
    wait = WebDriverWait(driver, 30)
    wait.until(expected_conditions.staleness_of(old))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def cells(driver: Any, table_id: str, column: str) -> list[str]:
    from selenium.webdriver.common.by import By

    table = driver.find_element(By.ID, table_id)
    headers = [
        h.text.split("\n")[0].strip() for h in table.find_elements(By.CSS_SELECTOR, "thead th")
    ]
    index = headers.index(column)
    return [
        row.find_elements(By.TAG_NAME, "td")[index].text
        for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]


def test_the_studio_in_a_browser(studio_url: str, driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base = studio_url.split("/?", 1)[0]

    # Open the studio with its token: the token leaves the address bar.
    driver.get(studio_url)
    assert "token=" not in driver.current_url
    assert "plainsql studio" in driver.find_element(By.TAG_NAME, "h1").text
    shot(driver, "01-home")

    # Page users to the second page.
    follow(driver, By.LINK_TEXT, "Tables")
    shot(driver, "02-tables")
    follow(driver, By.LINK_TEXT, "public.users")
    first_page = cells(driver, "rows", "id")
    assert len(first_page) == 50
    follow(driver, By.ID, "next")
    second_page = cells(driver, "rows", "id")
    assert second_page
    assert not set(first_page) & set(second_page)
    assert sorted(first_page + second_page) == first_page + second_page  # one order, by id
    assert "after=" in driver.current_url  # the view's state is in the URL
    shot(driver, "03-users-page-2")

    # Filter meetings by status.
    driver.get(f"{base}/tables/public.meetings")
    Select(driver.find_element(By.ID, "f.status")).select_by_visible_text("completed")
    follow(driver, By.ID, "apply")
    statuses = cells(driver, "rows", "status")
    assert statuses
    assert set(statuses) == {"completed"}
    assert "f.status=completed" in driver.current_url
    shot(driver, "04-meetings-completed")

    # Open a user and follow a foreign key to their meetings.
    driver.get(f"{base}/tables/public.users?f.id=seed-user-alice")
    follow(driver, By.CSS_SELECTOR, "#rows a.open")
    assert "Alice Example" in driver.find_element(By.ID, "record").text
    shot(driver, "05-user-alice")
    follow(driver, By.PARTIAL_LINK_TEXT, "public.meetings where user_id = seed-user-alice")
    owners = cells(driver, "rows", "user_id")
    assert owners
    assert set(owners) == {"seed-user-alice"}
    shot(driver, "06-alice-meetings")

    # Run a named query with typed parameters (an enum select, a timestamp, an integer).
    follow(driver, By.LINK_TEXT, "Named queries")
    follow(driver, By.LINK_TEXT, "meetings.list_meetings_by_status")
    driver.find_element(By.ID, "p.user_id").send_keys("seed-user-alice")
    status = Select(driver.find_element(By.ID, "p.status"))
    assert "completed" in [o.text for o in status.options]  # the enum's labels
    status.select_by_visible_text("completed")
    stamp = driver.find_element(By.ID, "p.before_created_at")
    assert stamp.get_attribute("type") == "datetime-local"
    driver.execute_script("arguments[0].value = '2030-01-01T00:00:00'", stamp)
    driver.find_element(By.ID, "p.page_size").send_keys("10")
    driver.find_element(By.ID, "run").click()
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.ID, "status") or d.find_elements(By.ID, "error")
    )
    assert not driver.find_elements(By.ID, "error"), driver.find_element(By.ID, "error").text
    assert "rolled back" in driver.find_element(By.ID, "status").text
    assert set(cells(driver, "result", "status")) == {"completed"}
    shot(driver, "07-named-query-run")

    # See the migration list.
    follow(driver, By.LINK_TEXT, "Migrations")
    listed = driver.find_element(By.ID, "migrations").text
    assert "0001" in listed
    assert "mark_secret_columns" in listed
    assert "pending" not in cells(driver, "migrations", "state")
    shot(driver, "08-migrations")


def test_users_plans_and_staged_edits_in_a_browser(
    writable_studio_url: str, driver: Any, plainsql_database_url: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base = writable_studio_url.split("/?", 1)[0]
    driver.get(writable_studio_url)

    def wait_for(*ids: str) -> None:
        WebDriverWait(driver, 30).until(lambda d: any(d.find_elements(By.ID, i) for i in ids))

    # One named query, run as two acting users: each sees only their own row.
    seen = {}
    for user in ("seed-user-bob", "seed-user-carol"):
        driver.get(f"{base}/queries/auth.list_users_page")
        driver.find_element(By.ID, "p.page_size").send_keys("100")
        driver.find_element(By.ID, "studio.as").send_keys(user)
        driver.find_element(By.ID, "run").click()
        wait_for("status", "error")
        assert not driver.find_elements(By.ID, "error"), driver.find_element(By.ID, "error").text
        said = driver.find_element(By.ID, "ran-as").text
        assert f"ran as role reference_app with acting user {user}" in said
        seen[user] = cells(driver, "result", "id")
        driver.execute_script("arguments[0].scrollIntoView()", driver.find_element(By.ID, "run"))
        shot(driver, f"09-users-as-{user}")
    assert seen == {"seed-user-bob": ["seed-user-bob"], "seed-user-carol": ["seed-user-carol"]}

    # Its plan tree with ANALYZE, as Alice.
    driver.get(f"{base}/queries/meetings.list_meetings_by_user")
    driver.find_element(By.ID, "p.user_id").send_keys("seed-user-alice")
    driver.find_element(By.ID, "p.page_size").send_keys("10")
    driver.find_element(By.ID, "studio.as").send_keys("seed-user-alice")
    driver.find_element(By.ID, "analyze").click()
    driver.find_element(By.ID, "explain").click()
    wait_for("plan", "error")
    assert not driver.find_elements(By.ID, "error"), driver.find_element(By.ID, "error").text
    tree = driver.find_element(By.ID, "plan").text
    assert "on meetings" in tree
    assert "actual" in tree
    assert "estimated" in tree
    assert "ms" in tree
    assert driver.find_elements(By.CSS_SELECTOR, "#plan li.node.expensive")
    driver.execute_script(
        "arguments[0].scrollIntoView()", driver.find_element(By.ID, "plan-heading")
    )
    shot(driver, "10-plan-analyze")

    def stage_name(table: str, key: str, name: str) -> None:
        driver.get(f"{base}/tables/public.{table}/row?k.id={key}")
        field = driver.find_element(By.ID, "v.name")
        field.clear()
        field.send_keys(name)
        driver.find_element(By.ID, "stage-update").click()
        wait_for("staged", "error")

    def names() -> dict[str, str]:
        with psycopg.connect(plainsql_database_url) as conn:
            return dict(
                conn.execute(
                    "SELECT id, name FROM users WHERE id = 'seed-user-bob' UNION ALL"
                    " SELECT id, name FROM meetings WHERE id = %s",
                    (meeting,),
                ).fetchall()
            )

    with psycopg.connect(plainsql_database_url) as conn:
        found = conn.execute(
            "SELECT id FROM meetings WHERE user_id = 'seed-user-alice' ORDER BY id LIMIT 1"
        ).fetchone()
    assert found is not None
    meeting = found[0]
    before = names()

    # Stage two edits on two tables, see their SQL, commit them together.
    stage_name("users", "seed-user-bob", "Bob Edited")
    stage_name("meetings", meeting, "Renamed meeting")
    staged = driver.find_element(By.ID, "staged").text
    assert 'UPDATE "public"."users" SET "name" = CAST($1 AS text)' in staged
    assert 'UPDATE "public"."meetings" SET "name"' in staged
    assert names() == before  # nothing written yet
    shot(driver, "11-two-staged-edits")
    driver.find_element(By.ID, "commit").click()
    wait_for("notice", "error")
    assert "2 edits committed" in driver.find_element(By.ID, "notice").text
    assert names() == {"seed-user-bob": "Bob Edited", meeting: "Renamed meeting"}
    shot(driver, "12-committed")

    # One that breaks meetings_name_not_blank: refused, named, nothing written, still staged.
    stage_name("meetings", meeting, " ")
    driver.find_element(By.ID, "commit").click()
    wait_for("error")
    error = driver.find_element(By.ID, "error").text
    assert "meetings_name_not_blank" in error
    assert "nothing was written" in error
    assert len(driver.find_elements(By.CSS_SELECTOR, "#staged tbody tr")) == 1
    assert names() == {"seed-user-bob": "Bob Edited", meeting: "Renamed meeting"}
    shot(driver, "13-violation-refused")
