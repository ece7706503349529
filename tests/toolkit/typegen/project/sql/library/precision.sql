-- Queries for each nullability rule of docs/typegen.md ("Nullability"), each with a case the
-- rule must leave nullable next to it. The expectations are in test_typegen_nullability.py,
-- the fixture rows that produce each NULL in test_typegen_soundness.py.

-- casts from jsonb: NULL for a JSON null on PostgreSQL 18 (15 to 17 raise), so nullable ----

-- name: list_author_pins()
-- A jsonb value cast to boolean: coalesce() keeps a JSON null, which 18 casts to NULL.
SELECT name, coalesce(settings -> 'pinned', 'false')::boolean AS pinned
  FROM authors;

-- name: list_author_scores()
-- A jsonb value cast to numeric and to integer.
SELECT name,
       coalesce(settings -> 'score', '0')::numeric AS score,
       (coalesce(settings -> 'score', '0') -> 0)::integer AS first_score
  FROM authors;

-- name: list_author_settings_text()
-- jsonb as text (its output, 'null' for a JSON null: never NULL) and ->> cast to boolean.
SELECT settings::text AS settings_text, (settings ->> 'pinned')::boolean AS pinned
  FROM authors;

-- aggregates over a group (never empty) --------------------------------------------------

-- name: list_author_book_extremes()
-- max/min/bool_and/string_agg/array_agg of NOT NULL columns per group: NOT NULL; of a
-- nullable column: nullable.
SELECT author_id,
       max(pages) AS most_pages,
       min(title) AS first_title,
       bool_and(pages > 100) AS all_thick,
       string_agg(title, ', ' ORDER BY title) AS titles,
       array_agg(id ORDER BY id) AS book_ids,
       max(subtitle) AS some_subtitle
  FROM books
 GROUP BY author_id;

-- name: list_author_book_extremes_filtered()
-- FILTER can leave a group with no row for the aggregate: nullable.
SELECT author_id,
       max(pages) FILTER (WHERE pages > 300) AS most_long_pages,
       array_agg(title) FILTER (WHERE pages > 300) AS long_titles,
       count(*) FILTER (WHERE pages > 300) AS long_books
  FROM books
 GROUP BY author_id;

-- name: list_author_book_rollup()
-- ROLLUP adds a total row over all groups and nulls the grouped column there.
SELECT author_id, max(pages) AS most_pages
  FROM books
 GROUP BY ROLLUP (author_id);

-- name: get_book_extremes_without_rows()^
-- No GROUP BY: one row even when no book matches, max() is then NULL.
SELECT max(pages) AS most_pages, string_agg(title, ', ') AS titles
  FROM books
 WHERE pages < 0;

-- name: get_book_extremes_grouped_by_nothing()^
-- GROUP BY (): one row even over no rows, like no GROUP BY.
SELECT max(pages) AS most_pages, array_agg(title) AS titles
  FROM books
 WHERE pages < 0
 GROUP BY ();

-- name: list_book_sums_by_shelf_parity()
-- sum() and avg() of coalesced values per group: NOT NULL; of a nullable column: nullable.
SELECT pages % 2 AS parity,
       sum(coalesce(price, 0)) AS total_price,
       avg(pages) AS average_pages,
       sum(price) AS priced_total
  FROM books
 GROUP BY pages % 2;

-- count(*) in a scalar subquery ----------------------------------------------------------

-- name: list_authors_with_limited_counts()
-- A plain count(*) is one row, also under LIMIT 1; OFFSET 1 skips it, GROUP BY may have none.
SELECT a.name,
       (SELECT count(*) FROM books b WHERE b.author_id = a.id LIMIT 1) AS book_count,
       (SELECT count(*) FROM books b WHERE b.author_id = a.id OFFSET 1) AS skipped,
       (SELECT count(*) FROM books b WHERE b.author_id = a.id GROUP BY b.author_id)
           AS grouped_count
  FROM authors a;

-- name: get_book_total()^
-- An uncorrelated count(*) with LIMIT 1 (an InitPlan), and a max() that may be NULL.
SELECT (SELECT count(*) FROM books LIMIT 1) AS books,
       (SELECT max(subtitle) FROM books WHERE pages < 0) AS no_subtitle;

-- EXISTS ----------------------------------------------------------------------------------

-- name: list_authors_with_exists()
-- EXISTS is true or false; a scalar sub-select of true is NULL when it finds no row.
SELECT a.name,
       EXISTS (SELECT 1 FROM books b WHERE b.author_id = a.id) AS has_books,
       NOT EXISTS (SELECT 1 FROM books b WHERE b.author_id = a.id AND b.pages > 300)
           AS no_long_books,
       (SELECT true FROM books b WHERE b.author_id = a.id LIMIT 1) AS found
  FROM authors a;

-- name: get_any_orphans()^
-- An uncorrelated EXISTS (an InitPlan).
SELECT EXISTS (SELECT 1 FROM books WHERE author_id IS NULL) AS has_orphans,
       (SELECT author_id FROM books WHERE author_id IS NULL LIMIT 1) AS orphan_author;

-- IN (subquery) ---------------------------------------------------------------------------

-- name: list_books_in_long_list()
-- NOT NULL id IN (a NOT NULL column): true or false.
SELECT title,
       id IN (SELECT id FROM books WHERE pages > 300) AS is_long,
       id NOT IN (SELECT id FROM books WHERE pages > 300) AS is_short
  FROM books;

-- name: list_authors_in_book_list()
-- author_id is nullable: a.id IN (...) is NULL when no author_id matches and one is NULL;
-- narrowed by IS NOT NULL in the sub-select, it is NOT NULL again.
SELECT a.name,
       a.id IN (SELECT author_id FROM books) AS listed,
       a.id IN (SELECT author_id FROM books WHERE author_id IS NOT NULL) AS listed_known
  FROM authors a;

-- CASE ------------------------------------------------------------------------------------

-- name: list_book_labels()
-- Every branch and the ELSE NOT NULL: NOT NULL; a nullable branch: nullable.
SELECT CASE WHEN pages > 300 THEN title ELSE 'short: ' || title END AS label,
       CASE WHEN pages > 300 THEN subtitle ELSE 'short' END AS long_subtitle
  FROM books;

-- name: list_book_sizes()
-- A simple CASE with an ELSE: NOT NULL; without it: NULL for the values not listed.
SELECT CASE pages % 2 WHEN 0 THEN 'even' ELSE 'odd' END AS parity,
       CASE pages WHEN 412 THEN 'dune' END AS known
  FROM books;

-- name: list_book_halves()
-- Without ELSE, but the WHENs cover every case: a condition never NULL and its negation
-- (NOT (pages > 300) is planned as pages <= 300). Over a nullable price neither holds for
-- a book without price: NULL.
SELECT CASE WHEN pages > 300 THEN 'long' WHEN NOT (pages > 300) THEN 'short' END AS size,
       CASE WHEN subtitle IS NULL THEN 'plain' WHEN subtitle IS NOT NULL THEN 'subtitled' END
           AS kind,
       CASE WHEN price > 5 THEN 'dear' WHEN NOT (price > 5) THEN 'cheap' END AS cost
  FROM books;

-- ||, concat, concat_ws, jsonb_build_object, cardinality, arithmetic --------------------

-- name: list_book_descriptions()
-- || over NOT NULL text: NOT NULL; with a nullable operand: nullable.
SELECT title || ' (' || pages || ' pages)' AS description,
       title || ': ' || subtitle AS full_title
  FROM books;

-- name: list_book_concats()
-- concat() ignores NULLs; concat_ws() is NULL only for a NULL separator.
SELECT concat(title, ' ', subtitle) AS joined,
       concat_ws(', ', title, subtitle, pages) AS listed,
       concat_ws(subtitle, title, 'end') AS by_subtitle
  FROM books;

-- name: list_book_documents()
-- jsonb_build_object/array are never NULL (a NULL value becomes JSON null); -> into one
-- may be.
SELECT jsonb_build_object('title', title, 'subtitle', subtitle) AS document,
       jsonb_build_array(title, price) AS pair,
       jsonb_build_object('title', title) -> 'subtitle' AS missing
  FROM books;

-- name: list_author_tag_counts()
-- cardinality() of a NOT NULL array is a number (0 when empty); array_length() of an empty
-- array is NULL.
SELECT name, cardinality(tags) AS tag_count, array_length(tags, 1) AS tag_length
  FROM authors;

-- name: list_book_arithmetic()
-- Arithmetic over NOT NULL numbers: NOT NULL; over a nullable one: nullable.
SELECT pages * 2 + 1 AS doubled,
       -pages AS negated,
       coalesce(price, 0) + pages AS price_and_pages,
       price * 2 AS double_price
  FROM books;

-- window functions ------------------------------------------------------------------------

-- name: list_books_windowed()
-- ntile(2), lag/lead with a NOT NULL default, first_value over the default frame (it holds
-- the current row): NOT NULL. lead() without a default and lag() with a nullable one: NULL
-- at the edge of the partition.
SELECT title,
       dense_rank() OVER w AS size_rank,
       ntile(2) OVER w AS half,
       lag(title, 1, '(first)') OVER w AS previous_title,
       lead(title) OVER w AS next_title,
       lag(title, 1, subtitle) OVER w AS previous_or_subtitle,
       first_value(title) OVER w AS thinnest
  FROM books
WINDOW w AS (ORDER BY pages, id);

-- name: list_books_framed()
-- Frames: one that holds the current row keeps first_value/last_value/max NOT NULL; one
-- ending before it, starting after it or excluding it can be empty.
SELECT title,
       last_value(title) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS upto_next,
       max(pages) OVER (PARTITION BY author_id) AS most_pages_by_author,
       first_value(title) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING)
           AS before,
       max(pages) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND 2 FOLLOWING) AS after,
       first_value(title) OVER (
           PARTITION BY author_id ORDER BY id
           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE CURRENT ROW
       ) AS other_title
  FROM books;

-- generate_series and WITH ORDINALITY -----------------------------------------------------

-- name: list_series()
-- generate_series() in FROM and alone in the SELECT list: NOT NULL.
SELECT g AS n, generate_series(g, 3) AS m
  FROM generate_series(1, 3) AS g;

-- name: list_uneven_series()
-- Two set-returning functions in a SELECT list, or in ROWS FROM: the shorter is padded with
-- NULLs.
SELECT s.short FROM (SELECT generate_series(1, 2) AS short, generate_series(1, 3) AS long) s;

-- name: list_series_rows_from()
SELECT a, n
  FROM ROWS FROM (generate_series(1, 2), generate_series(1, 3)) WITH ORDINALITY AS r(a, b, n);

-- name: list_book_names_numbered()
-- WITH ORDINALITY: the number is NOT NULL, the elements of unnest() may be NULL.
SELECT b.id, u.name, u.n
  FROM books b, unnest(ARRAY[b.title, b.subtitle]) WITH ORDINALITY AS u(name, n);

-- INTERSECT and EXCEPT --------------------------------------------------------------------

-- name: list_subtitles_that_are_titles()
-- A row of an INTERSECT is in both branches: NOT NULL when either branch is.
SELECT subtitle FROM books INTERSECT SELECT title FROM books;

-- name: list_common_subtitles()
-- Both branches nullable (NULL matches NULL in a set operation): nullable.
SELECT subtitle FROM books INTERSECT ALL SELECT subtitle FROM books WHERE pages > 300;

-- name: list_titles_except_subtitles()
-- EXCEPT returns rows of its left branch: their nullability.
SELECT title FROM books EXCEPT SELECT subtitle FROM books;

-- name: list_subtitles_except_titles()
SELECT subtitle FROM books EXCEPT SELECT title FROM books;

-- FULL JOIN ... USING ----------------------------------------------------------------------

-- name: list_shelves_and_books_by_id()
-- The merged key of a FULL JOIN USING is coalesce(left, right): NOT NULL when both sides'
-- keys are; the other columns are null-extended.
SELECT id, b.title, s.label
  FROM (SELECT row_number() OVER (ORDER BY id) AS id, title FROM books) AS b
  FULL JOIN (SELECT id::bigint AS id, label FROM shelves WHERE id IN (1, 2, 10)) AS s USING (id);

-- name: list_authors_and_books_by_author()
-- A nullable key on one side (books.author_id): the merged key is nullable.
SELECT author_id, a.name, b.title
  FROM (SELECT id AS author_id, name FROM authors) AS a
  FULL JOIN books AS b USING (author_id);

-- recursive CTEs ---------------------------------------------------------------------------

-- name: list_countdown()
-- Arithmetic and || in the recursive branch over NOT NULL columns of both branches.
WITH RECURSIVE n (i, label) AS (
    SELECT 1, 'a'
    UNION ALL
    SELECT i + 1, label || 'a' FROM n WHERE i < 3
)
SELECT i, label FROM n;

-- name: list_book_chain_subtitles()
-- The recursive branch brings a nullable column: nullable.
WITH RECURSIVE chain (id, depth, note) AS (
    SELECT id, 1, title FROM books WHERE pages > 400
    UNION ALL
    SELECT b.id, c.depth + 1, b.subtitle FROM chain c JOIN books b ON b.id = c.id + 1
     WHERE c.depth < 3
)
SELECT depth, note FROM chain;

-- WHERE narrowing ------------------------------------------------------------------------

-- name: list_subtitled_books()
-- IS NOT NULL and a strict comparison in top-level AND conjuncts: NOT NULL.
SELECT title, subtitle, price
  FROM books
 WHERE subtitle IS NOT NULL AND price > 1;

-- name: list_books_subtitled_or_long()
-- Under OR the test does not narrow.
SELECT title, subtitle
  FROM books
 WHERE subtitle IS NOT NULL OR pages > 300;

-- name: list_authors_with_subtitled_books()
-- A test in an outer join's ON clause does not narrow the null-extended side; a WHERE on
-- the preserved side narrows it.
SELECT a.name, a.bio, b.subtitle
  FROM authors a
  LEFT JOIN books b ON b.author_id = a.id AND b.subtitle IS NOT NULL
 WHERE a.bio IS NOT NULL OR a.nick IS NULL;

-- name: list_rated_authors()
-- Narrowing applies at the level of the test: the sub-select's column is NOT NULL, the
-- outer query's other nullable columns are not.
SELECT r.name, r.rating, r.born
  FROM (SELECT name, rating, born FROM authors WHERE rating >= 0) AS r;

-- name: list_books_of_author(author_id)
-- A strict comparison the planner may apply in an index scan: narrows there too.
SELECT author_id, title FROM books WHERE author_id = :author_id;

-- name: list_known_bios()
-- A strict function of the column inside the strict comparison narrows it too.
SELECT name, bio FROM authors WHERE lower(bio) <> '';

-- name: list_bios_or_default()
-- coalesce() is not strict: a NULL bio passes the test.
SELECT name, bio FROM authors WHERE coalesce(bio, 'none') <> '';
