-- name: get_bench_point_by_id(point_id)^
-- One bench point by primary key.
SELECT id, label, value FROM bench_points WHERE id = :point_id;
