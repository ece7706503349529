-- name: list_books_with_authors()
-- Books and their author's name (inner join: both sides NOT NULL).
SELECT b.title, a.name AS author_name
  FROM books b
  JOIN authors a ON a.id = b.author_id;

-- name: list_authors_with_books()
-- Every author with each book, or no book (left join: the right side is nullable).
SELECT a.name, b.title, b.subtitle
  FROM authors a
  LEFT JOIN books b ON b.author_id = a.id;

-- name: list_books_with_optional_authors()
-- Every book with its author when it has one (right join: the left side is nullable).
SELECT a.name, b.title
  FROM authors a
 RIGHT JOIN books b ON b.author_id = a.id;

-- name: list_authors_and_books()
-- Authors and books matched where possible (full join: both sides nullable).
SELECT a.name, b.title
  FROM authors a
  FULL JOIN books b ON b.author_id = a.id;

-- name: list_authors_with_books_titled(title)
-- Authors with their books of one title: the WHERE on the right side makes the LEFT JOIN
-- an inner join, and the planner proves the title NOT NULL.
SELECT a.name, b.title
  FROM authors a
  LEFT JOIN books b ON b.author_id = a.id
 WHERE b.title = :title;

-- name: list_books_with_next_book()
-- Each book and the book with the next id (a self join: one alias nullable, one not).
SELECT b.title, next_book.title AS next_title
  FROM books b
  LEFT JOIN books next_book ON next_book.id = b.id + 1;

-- name: list_authors_books_and_coauthors()
-- A left join whose nullable side joins further: everything from it stays nullable.
SELECT a.name, b.title, book_author.name AS book_author_name
  FROM authors a
  LEFT JOIN books b ON b.author_id = a.id
  LEFT JOIN authors book_author ON book_author.id = b.author_id;

-- name: list_authors_without_books()
-- Authors with no book at all (an anti join keeps the left side as it is).
SELECT a.name
  FROM authors a
 WHERE NOT EXISTS (SELECT 1 FROM books b WHERE b.author_id = a.id);

-- name: list_authors_with_latest_book()
-- Each author with the title of their latest book (a LEFT JOIN LATERAL subquery).
SELECT a.name, latest.title AS latest_title
  FROM authors a
  LEFT JOIN LATERAL (
        SELECT b.title FROM books b WHERE b.author_id = a.id ORDER BY b.id DESC LIMIT 1
       ) AS latest ON true;
