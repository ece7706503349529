-- name: list_shelf_slots()
-- Each shelf with its slots: a LEFT JOIN the planner runs as a Hash Right Join.
SELECT s.label, sl.position, sl.note
  FROM shelves s
  LEFT JOIN slots sl ON sl.shelf_id = s.id;

-- name: upsert_shelf(shelf_id, label)<!
-- Create or rename a shelf: ON CONFLICT DO UPDATE always returns the row.
INSERT INTO shelves (id, label) VALUES (:shelf_id, :label)
    ON CONFLICT (id) DO UPDATE SET label = excluded.label
RETURNING id, label;

-- name: create_shelf_if_missing(shelf_id, label)<!
-- Create a shelf unless it exists: ON CONFLICT DO NOTHING may return no row.
INSERT INTO shelves (id, label) VALUES (:shelf_id, :label)
    ON CONFLICT (id) DO NOTHING
RETURNING id, label;

-- name: reset_empty_shelves#
-- Remove the shelves that hold no slot (a script: several statements, no parameters).
DELETE FROM shelves s WHERE NOT EXISTS (SELECT 1 FROM slots WHERE shelf_id = s.id);
ANALYZE shelves;
