-- name: get_author_by_id(author_id)^
-- One author by id, or None.
SELECT id, name, email, nick, bio, mood, tags, profile, settings, rating, born, created_at
  FROM authors
 WHERE id = :author_id;

-- name: list_authors()
-- Every author, by name.
SELECT id, name, email, nick, bio, mood, tags, profile, settings, rating, born, created_at
  FROM authors
 ORDER BY name;

-- name: list_author_names()
-- Names only: a narrower shape of the same table.
SELECT id, name FROM authors ORDER BY name;

-- name: create_author(name, email, nick, mood, profile)<!
-- A new author: the row as inserted (an INSERT ... VALUES always returns it).
INSERT INTO authors (name, email, nick, mood, profile)
VALUES (:name, :email, :nick, :mood, :profile)
RETURNING id, name, email, nick, bio, mood, tags, profile, settings, rating, born, created_at;

-- name: update_author_bio(author_id, bio)!
-- Set or clear a bio: the number of rows changed.
UPDATE authors SET bio = :bio WHERE id = :author_id;

-- name: delete_author(author_id)!
-- Delete an author: the number of rows deleted.
DELETE FROM authors WHERE id = :author_id;

-- name: update_author_nick(author_id, set_nick, nick)!
-- Set or clear the nick when set_nick is true, else keep it: the number of rows changed.
UPDATE authors
   SET nick = CASE WHEN :set_nick THEN CAST(:nick AS text) ELSE nick END
 WHERE id = :author_id;
