-- 20261207044416_plainsql_cache rollback: drop what the migration creates.

DROP TRIGGER plainsql_cache_notify ON public.users;
DROP TRIGGER plainsql_cache_notify ON public.teams;
DROP TRIGGER plainsql_cache_notify ON public.team_members;
DROP FUNCTION plainsql.cache_stats_add(text[], bigint[], bigint[], bigint[], bigint[]);
DROP TABLE plainsql.cache_stats;
DROP FUNCTION plainsql.cache_notify();
DO $$
BEGIN
    DROP SCHEMA plainsql;
EXCEPTION WHEN dependent_objects_still_exist THEN
    NULL;
END
$$;
