-- name: create_books(author_id, title, pages)*!
-- Many books at once: the number of rows inserted.
INSERT INTO books (author_id, title, pages) VALUES (:author_id, :title, :pages);

-- name: update_book_price(book_id, price)<!
-- Reprice a book of an author: its title and author, or None when there is no such book.
UPDATE books b
   SET price = :price
  FROM authors a
 WHERE a.id = b.author_id AND b.id = :book_id
RETURNING b.title, a.name AS author_name, b.price;
