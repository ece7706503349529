-- name: count_books()$
-- The number of books (an aggregate without GROUP BY: always exactly one row).
SELECT count(*) FROM books;

-- name: get_book_stats()^
-- Counts and extremes over all books: one row even for an empty table.
SELECT count(*) AS books, min(pages) AS min_pages, array_agg(title) AS titles
  FROM books;

-- name: list_book_stats_by_author()
-- Per-author aggregates: count() never NULL, the others may be.
SELECT author_id,
       count(*) AS books,
       count(subtitle) AS with_subtitle,
       sum(pages) AS total_pages,
       max(title) AS last_title,
       avg(price) AS average_price
  FROM books
 GROUP BY author_id;

-- name: list_books_ranked()
-- Books with window functions: row_number() is never NULL, lag() may be.
SELECT title,
       row_number() OVER (ORDER BY id) AS position,
       lag(title) OVER (ORDER BY id) AS previous_title
  FROM books;
