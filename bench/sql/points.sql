-- name: get_bench_point_by_id(point_id)^
-- One bench point by primary key.
SELECT id, label, value FROM bench_points WHERE id = :point_id;

-- name: list_bench_points()
-- Every bench point in id order.
SELECT id, label, value FROM bench_points ORDER BY id;

-- name: get_bench_w5_point_by_id(point_id)^
-- One point of the W5 table by primary key, or nothing.
SELECT id, label, value FROM bench_points_w5 WHERE id = :point_id;

-- name: insert_bench_event(label, amount)<!
-- A new bench event, with the id and time the server gave it.
INSERT INTO bench_events (label, amount) VALUES (:label, :amount)
RETURNING id, label, amount, created_at;

-- name: get_bench_replica_point_by_id(point_id)^
-- One point of the replica reads' table by primary key, or nothing; a replica may serve it.
-- plainsql: replica-safe
SELECT id, label, value FROM bench_points_replica WHERE id = :point_id;
