-- name: list_prolific_authors()
-- Authors and their book count, from a CTE joined inner.
WITH prolific AS (
    SELECT author_id, count(*) AS book_count FROM books GROUP BY author_id
)
SELECT a.name, p.book_count
  FROM authors a
  JOIN prolific p ON p.author_id = a.id;

-- name: list_authors_with_book_counts()
-- Every author and their book count from a materialized CTE, left joined: NULL for none.
WITH counts AS MATERIALIZED (
    SELECT author_id, count(*) AS book_count FROM books GROUP BY author_id
)
SELECT a.name, c.book_count
  FROM authors a
  LEFT JOIN counts c ON c.author_id = a.id;

-- name: list_pairs_from_cte()
-- An outer join inside a CTE: the nullable side stays nullable outside it.
WITH pairs AS MATERIALIZED (
    SELECT a.name, b.title FROM authors a LEFT JOIN books b ON b.author_id = a.id
)
SELECT name, title FROM pairs;

-- name: list_pages_per_author()
-- Total pages per author id, from a subquery in FROM (sum() may be NULL, author_id is).
SELECT s.author_id, s.total_pages
  FROM (SELECT author_id, sum(pages) AS total_pages FROM books GROUP BY author_id) AS s;

-- name: list_authors_with_counts_by_subquery()
-- Each author with a correlated count (a plain aggregate: always one row, never NULL).
SELECT a.name,
       (SELECT count(*) FROM books b WHERE b.author_id = a.id) AS book_count
  FROM authors a;

-- name: list_authors_with_first_title()
-- Each author with the title of their first book, NULL when they have none.
SELECT a.name,
       (SELECT b.title FROM books b WHERE b.author_id = a.id ORDER BY b.id LIMIT 1) AS first_title
  FROM authors a;

-- name: list_authors_with_book_flag()
-- Each author and whether they wrote anything (EXISTS is never NULL).
SELECT a.name,
       EXISTS (SELECT 1 FROM books b WHERE b.author_id = a.id) AS has_books
  FROM authors a;

-- name: list_book_chain(book_id)
-- A book and the books with the following ids (recursive CTE; its columns stay NOT NULL).
WITH RECURSIVE chain AS (
    SELECT b.id, b.title FROM books b WHERE b.id = :book_id
    UNION ALL
    SELECT b.id, b.title FROM books b JOIN chain c ON b.id = c.id + 1
)
SELECT id, title FROM chain;

-- name: list_labels()
-- Author names and book subtitles in one column (a UNION is nullable if any branch is).
SELECT name AS label FROM authors
UNION
SELECT subtitle FROM books;

-- name: list_author_book_counts()
-- A view: its columns trace to the tables and the aggregate under it.
SELECT id, name, books FROM author_book_counts;
