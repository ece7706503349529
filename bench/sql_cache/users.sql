-- The cached point read of the cache workload (bench/workloads/cached_read.py), and the same
-- SQL uncached. users has the query cache's trigger (migration *_plainsql_cache).

-- name: get_user_cached(user_id)^
-- One live user by primary key (the acting user's own row: the policy), kept by the cache.
-- plainsql: cache ttl=10min
SELECT id, name, email, created_at FROM users WHERE id = :user_id AND deleted_at IS NULL;

-- name: get_user(user_id)^
-- The same SQL, not cached.
SELECT id, name, email, created_at FROM users WHERE id = :user_id AND deleted_at IS NULL;
