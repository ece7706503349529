"""The query cache's objects in a database (schema ``plainsql``), named once.

``plainsql cache migration`` (:mod:`plainsql.cache_setup`) writes a migration creating them;
the cache (:mod:`plainsql.runtime.cache_async`) and ``plainsql check`` look for them. The
application's tables are never named here: the migration names them, for its reviewer.
"""

from __future__ import annotations

from typing import Final

SCHEMA: Final = "plainsql"  # everything plainsql installs in a database lives here
CHANNEL: Final = "plainsql_cache"  # NOTIFY payload: the written table's oid
NOTIFY_FUNCTION: Final = "plainsql.cache_notify"
TRIGGER: Final = "plainsql_cache_notify"
STATS_TABLE: Final = "plainsql.cache_stats"
STATS_FUNCTION: Final = "plainsql.cache_stats_add"

# The tables among the given oids without a trigger that notifies the cache: statement-level
# (tgtype bit 1 clear), on INSERT, DELETE, UPDATE and TRUNCATE (bits 4, 8, 16, 32), enabled.
MISSING_TRIGGERS: Final = f"""
SELECT c.oid::int8 FROM pg_catalog.pg_class AS c
WHERE c.oid = any(%s::oid[]) AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_trigger AS t
    WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled <> 'D'
      AND t.tgfoid = pg_catalog.to_regprocedure('{NOTIFY_FUNCTION}()')
      AND t.tgtype & 1 = 0 AND t.tgtype & 60 = 60
)
"""

# What the cache adds to the shared counters, one row per query (plainsql stats reads them).
ADD_STATS: Final = (
    f"SELECT {STATS_FUNCTION}(%s::text[], %s::int8[], %s::int8[], %s::int8[], %s::int8[])"
)
READ_STATS: Final = f"""
SELECT query_name, hits, misses, evictions, invalidations, flushed_at
FROM {STATS_TABLE} ORDER BY query_name
"""
STATS_EXIST: Final = f"SELECT pg_catalog.to_regclass('{STATS_TABLE}') IS NOT NULL"
FUNCTION_EXISTS: Final = f"SELECT pg_catalog.to_regprocedure('{NOTIFY_FUNCTION}()') IS NOT NULL"


def install_sql() -> str:
    """The schema, the notifying trigger function, the shared counters and their function."""
    return f"""CREATE SCHEMA IF NOT EXISTS {SCHEMA};
GRANT USAGE ON SCHEMA {SCHEMA} TO PUBLIC;

-- Fired once per statement on a table a cached query reads: its commit tells every listening
-- cache which table changed (NOTIFY is sent at COMMIT, and not at all on ROLLBACK).
CREATE FUNCTION {NOTIFY_FUNCTION}() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('{CHANNEL}', TG_RELID::text);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION {NOTIFY_FUNCTION}() IS
    'plainsql query cache: NOTIFY {CHANNEL} with the written table''s oid (statement trigger).';

-- Each cached query's hits, misses, evictions and invalidations, summed over the processes
-- that flush them (every 10 s and when a cache closes); `plainsql stats` shows them.
CREATE TABLE {STATS_TABLE} (
    query_name text NOT NULL,
    hits bigint NOT NULL DEFAULT 0,
    misses bigint NOT NULL DEFAULT 0,
    evictions bigint NOT NULL DEFAULT 0,
    invalidations bigint NOT NULL DEFAULT 0,
    flushed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cache_stats_pkey PRIMARY KEY (query_name)
);
COMMENT ON TABLE {STATS_TABLE} IS
    'plainsql query cache: counters per cached query, summed over every process (plainsql stats).';
GRANT SELECT ON {STATS_TABLE} TO PUBLIC;

-- The one way a cache adds to the counters, whatever its login role may write.
CREATE FUNCTION {STATS_FUNCTION}(
    names text[], hits bigint[], misses bigint[], evictions bigint[], invalidations bigint[]
) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO pg_catalog, pg_temp
    AS $$
    INSERT INTO {STATS_TABLE} AS s (query_name, hits, misses, evictions, invalidations)
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
"""


def uninstall_sql() -> str:
    """The rollback of :func:`install_sql` (the schema stays when something else lives there,
    such as ``plainsql stats``'s pg_stat_statements on the embedded server)."""
    return f"""DROP FUNCTION {STATS_FUNCTION}(text[], bigint[], bigint[], bigint[], bigint[]);
DROP TABLE {STATS_TABLE};
DROP FUNCTION {NOTIFY_FUNCTION}();
DO $$
BEGIN
    DROP SCHEMA {SCHEMA};
EXCEPTION WHEN dependent_objects_still_exist THEN
    NULL;
END
$$;
"""


def trigger_sql(table: str) -> str:
    """The trigger on ``table`` (quoted ``schema.table``), firing in replica mode too (``ENABLE
    ALWAYS``: a logical replication apply or a restore in replica mode also invalidates)."""
    return (
        f"CREATE TRIGGER {TRIGGER}\n"
        f"    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}\n"
        f"    FOR EACH STATEMENT EXECUTE FUNCTION {NOTIFY_FUNCTION}();\n"
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {TRIGGER};\n"
    )


def drop_trigger_sql(table: str) -> str:
    return f"DROP TRIGGER {TRIGGER} ON {table};\n"
