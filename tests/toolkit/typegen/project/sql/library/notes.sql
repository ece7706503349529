-- name: create_note(note_id, body)<!
-- A new note: the row as inserted (the table's BEFORE UPDATE trigger cannot skip an INSERT).
INSERT INTO notes (id, body) VALUES (:note_id, :body)
RETURNING id, body, updated_at;

-- name: upsert_note(note_id, body)<!
-- Create or replace a note: the BEFORE UPDATE trigger could skip the update, so maybe no row.
INSERT INTO notes (id, body) VALUES (:note_id, :body)
    ON CONFLICT (id) DO UPDATE SET body = excluded.body
RETURNING id, body, updated_at;
