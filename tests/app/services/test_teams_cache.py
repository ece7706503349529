"""The team switcher's cached read (sql/teams/teams.sql: list_teams_by_user) through TeamService.

The application's migrations install the cache's triggers (20261207044416_plainsql_cache,
written by ``plainsql cache migration``); each test opens the query cache on the test's own
database, as an application opens it at start-up, and waits for each write's notification.
"""

from __future__ import annotations

from plainsql import AsyncDatabase, Queries, open_async_cache
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.auth import AuthService, User
from reference_apps.services.teams import TeamService

LIST = "teams.list_teams_by_user"


async def new_user(auth: AuthService, name: str) -> User:
    return await auth.sign_up(
        email=f"{name}@x.io", password="a long enough password", name=name.title()
    )


async def slugs(teams: TeamService, user: User) -> list[str]:
    return [t.team.slug for t in await teams.list_user_teams(acting_user_id=user.id)]


async def test_a_removed_member_stops_seeing_the_team_once_the_removal_is_notified(
    auth: AuthService,
    teams: TeamService,
    plainsql_async_db: AsyncDatabase,
    plainsql_async_queries: Queries,
) -> None:
    alice, bob = await new_user(auth, "alice"), await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await teams.invite(team.id, bob.id, acting_user_id=alice.id)
    async with open_async_cache(plainsql_async_db, plainsql_async_queries) as cache:
        assert await slugs(teams, bob) == []
        seen = cache.notifications
        # Accepting runs app_accept_team_invitation (SECURITY DEFINER): its insert notifies too.
        await teams.accept_invitation(team.id, acting_user_id=bob.id)
        await cache.wait_for_notification(seen)
        assert await slugs(teams, bob) == ["acme"]
        assert await slugs(teams, bob) == ["acme"]  # from the cache
        assert cache.stats()[LIST].hits == 1

        seen = cache.notifications
        await teams.remove_member(team.id, bob.id, acting_user_id=alice.id)
        await cache.wait_for_notification(seen)
        assert await slugs(teams, bob) == []
        assert await slugs(teams, alice) == ["acme"]
        counts = cache.stats()[LIST]
        assert (counts.hits, counts.misses) == (1, 4)


async def test_a_user_never_receives_the_teams_cached_for_another(
    auth: AuthService,
    teams: TeamService,
    plainsql_async_db: AsyncDatabase,
    plainsql_async_queries: Queries,
    typed_queries: AsyncTypedQueries,
) -> None:
    alice, bob = await new_user(auth, "alice"), await new_user(auth, "bob")
    await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    list_teams = typed_queries.teams.list_teams_by_user
    async with open_async_cache(plainsql_async_db, plainsql_async_queries) as cache:
        as_alice = plainsql_async_db.unit(acting_user=alice.id, read_only=True)
        as_bob = plainsql_async_db.unit(acting_user=bob.id, read_only=True)
        assert [r.slug for r in await as_alice.run(list_teams, user_id=alice.id)] == ["acme"]
        assert [r.slug for r in await as_alice.run(list_teams, user_id=alice.id)] == ["acme"]
        # The same query with the same parameters, acting as bob: his own (empty) result.
        assert await as_bob.run(list_teams, user_id=alice.id) == []
        counts = cache.stats()[LIST]
        assert (counts.hits, counts.misses) == (1, 2)
