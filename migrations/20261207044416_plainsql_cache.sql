-- 20261207044416_plainsql_cache: the query cache's invalidation triggers.
--
-- Written by `plainsql cache migration` (docs/caching.md); review it. Every INSERT,
-- UPDATE, DELETE or TRUNCATE on a table a cached query reads (its plan, the row-level
-- security policies of what it reads, the functions those call) notifies channel
-- plainsql_cache with the table's oid when it commits, from a statement-level trigger:
-- writes from psql, cascades and SECURITY DEFINER functions invalidate the cache too.
-- The triggers fire in replica mode as well (ENABLE ALWAYS). The tables:
-- - public.team_members, read by teams.list_teams_by_user
-- - public.teams, read by teams.list_teams_by_user
-- - public.users, read by teams.list_teams_by_user

CREATE SCHEMA IF NOT EXISTS plainsql;
GRANT USAGE ON SCHEMA plainsql TO PUBLIC;

-- Fired once per statement on a table a cached query reads: its commit tells every listening
-- cache which table changed (NOTIFY is sent at COMMIT, and not at all on ROLLBACK).
CREATE FUNCTION plainsql.cache_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('plainsql_cache', TG_RELID::text);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION plainsql.cache_notify() IS
    'plainsql query cache: NOTIFY plainsql_cache with the written table''s oid (statement trigger).';

-- Each cached query's hits, misses, evictions and invalidations, summed over the processes
-- that flush them (every 10 s and when a cache closes); `plainsql stats` shows them.
CREATE TABLE plainsql.cache_stats (
    query_name text NOT NULL,
    hits bigint NOT NULL DEFAULT 0,
    misses bigint NOT NULL DEFAULT 0,
    evictions bigint NOT NULL DEFAULT 0,
    invalidations bigint NOT NULL DEFAULT 0,
    flushed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cache_stats_pkey PRIMARY KEY (query_name)
);
COMMENT ON TABLE plainsql.cache_stats IS
    'plainsql query cache: counters per cached query, summed over every process (plainsql stats).';
GRANT SELECT ON plainsql.cache_stats TO PUBLIC;

-- The one way a cache adds to the counters, whatever its login role may write.
CREATE FUNCTION plainsql.cache_stats_add(
    names text[], hits bigint[], misses bigint[], evictions bigint[], invalidations bigint[]
) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO pg_catalog, pg_temp
    AS $$
    INSERT INTO plainsql.cache_stats AS s (query_name, hits, misses, evictions, invalidations)
    SELECT u.name, u.hits, u.misses, u.evictions, u.invalidations
    FROM unnest(names, hits, misses, evictions, invalidations)
        AS u (name, hits, misses, evictions, invalidations)
    ON CONFLICT (query_name) DO UPDATE SET
        hits = s.hits + excluded.hits,
        misses = s.misses + excluded.misses,
        evictions = s.evictions + excluded.evictions,
        invalidations = s.invalidations + excluded.invalidations,
        flushed_at = now()
$$;

CREATE TRIGGER plainsql_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.team_members
    FOR EACH STATEMENT EXECUTE FUNCTION plainsql.cache_notify();
ALTER TABLE public.team_members ENABLE ALWAYS TRIGGER plainsql_cache_notify;

CREATE TRIGGER plainsql_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.teams
    FOR EACH STATEMENT EXECUTE FUNCTION plainsql.cache_notify();
ALTER TABLE public.teams ENABLE ALWAYS TRIGGER plainsql_cache_notify;

CREATE TRIGGER plainsql_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.users
    FOR EACH STATEMENT EXECUTE FUNCTION plainsql.cache_notify();
ALTER TABLE public.users ENABLE ALWAYS TRIGGER plainsql_cache_notify;
