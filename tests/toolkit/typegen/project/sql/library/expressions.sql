-- name: list_author_labels()
-- COALESCE is NOT NULL as soon as one argument is.
SELECT coalesce(a.nick, a.name) AS display_name,
       coalesce(a.bio, a.nick) AS about,
       coalesce(a.rating, 0) AS rating
  FROM authors a;

-- name: list_book_lengths()
-- CASE is NOT NULL only when every branch and the ELSE are.
SELECT CASE WHEN pages > 300 THEN 'long' ELSE 'short' END AS length,
       CASE WHEN pages > 300 THEN 'long' END AS long_only
  FROM books;

-- name: list_book_facts()
-- Literals, casts, IS NULL, a comparison of NOT NULL values (never NULL) and a typed NULL.
SELECT 1 AS one,
       'x' AS letter,
       id::text AS id_text,
       subtitle IS NULL AS untitled,
       pages > 100 AS thick,
       NULL::text AS nothing
  FROM books;

-- name: get_author_contact(author_id)^
-- Domains: email is NOT NULL through its domain only, nick is a nullable domain.
SELECT email, nick FROM authors WHERE id = :author_id;

-- name: list_authors_in_mood(mood)
-- An enum column and an enum parameter.
SELECT name, mood FROM authors WHERE mood = :mood;

-- name: list_authors_tagged(tag)
-- An array column, a function over it (NULL for an empty array), and a scalar compared with
-- any() of it: the authors with the tag, and those without any tag.
SELECT tags, array_length(tags, 1) AS tag_count
  FROM authors
 WHERE :tag = any(tags) OR tags = '{}';

-- name: list_author_settings(filter)
-- jsonb columns and operators: -> gives jsonb, ->> gives text, @> a boolean; all may be NULL.
SELECT profile,
       settings,
       settings -> 'theme' AS theme,
       settings ->> 'lang' AS lang,
       profile @> :filter AS matches
  FROM authors;

-- name: list_moods()
-- An array of an enum: psycopg has no loader for it, so it arrives as text.
SELECT array_agg(mood) AS moods FROM authors;

-- name: list_names_overridden()
-- Overrides: "!" forces NOT NULL, "?" forces nullable; the columns are named without them.
SELECT lower(name) AS "lower_name!", name AS "maybe_name?"
  FROM authors;

-- name: list_authors_with_book_title_forced()
-- Authors who wrote books, with the titles: every author here has a book, so the LEFT JOIN
-- always matches; PostgreSQL cannot prove it, the override says it.
SELECT a.name, b.title AS "title!"
  FROM authors a
  LEFT JOIN books b ON b.author_id = a.id
 WHERE EXISTS (SELECT 1 FROM books x WHERE x.author_id = a.id);

-- name: list_books_up_to(max_pages)
-- An optional filter: a parameter tested with IS NULL may be None.
SELECT title FROM books WHERE (:max_pages::integer IS NULL OR pages <= :max_pages);

-- name: get_author_bio(author_id)$
-- A nullable value of one row, or no row.
SELECT bio FROM authors WHERE id = :author_id;

-- name: get_author_mood(author_id)$
-- An enum value of one row, or no row: the member, not its label.
SELECT mood FROM authors WHERE id = :author_id;

-- name: get_default_mood()$
-- "meh", the default mood: an enum value of exactly one row (the comment opens with a
-- quote, which the docstring must carry as ruff format writes it).
SELECT CAST('meh' AS mood) AS mood;
