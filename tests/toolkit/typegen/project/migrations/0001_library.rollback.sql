-- 0001_library rollback: drop everything 0001_library.sql creates, in reverse order.
DROP TABLE slots;

DROP TABLE shelves;

DROP TABLE notes;

DROP FUNCTION library_touch_updated_at();

DROP VIEW author_book_counts;

DROP TABLE books;

DROP TABLE authors;

DROP DOMAIN nickname;

DROP DOMAIN email_address;

DROP TYPE mood;
