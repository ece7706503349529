-- 0001_library: the schema of typegen's own tests (not the reference schema): tables whose
-- columns are NOT NULL, nullable, NOT NULL only through a domain, enums, arrays, jsonb, a view,
-- and a small/large pair of tables whose LEFT JOIN the planner runs as a Hash Right Join.
CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh');

CREATE DOMAIN email_address AS text NOT NULL CONSTRAINT email_address_has_at CHECK (VALUE LIKE '%@%');

CREATE DOMAIN nickname AS text;

CREATE TABLE authors (
    id uuid CONSTRAINT authors_pkey PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    email email_address,
    nick nickname,
    bio text,
    mood mood NOT NULL DEFAULT 'meh',
    tags text[] NOT NULL DEFAULT '{}',
    profile jsonb,
    settings jsonb NOT NULL DEFAULT '{}',
    rating numeric(3, 1),
    born date,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- author_id is nullable on purpose: orphan books are what RIGHT and FULL joins keep.
CREATE TABLE books (
    id bigint CONSTRAINT books_pkey PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    author_id uuid CONSTRAINT books_author_id_fkey REFERENCES authors (id) ON DELETE CASCADE,
    title text NOT NULL,
    subtitle text,
    pages integer NOT NULL,
    price numeric(8, 2),
    published_at timestamp
);

CREATE INDEX books_author_id_idx ON books (author_id);

CREATE VIEW author_book_counts AS
SELECT a.id, a.name, count(b.id) AS books
  FROM authors a
  LEFT JOIN books b ON b.author_id = a.id
 GROUP BY a.id, a.name;

COMMENT ON VIEW author_book_counts IS 'Books per author, authors without books included (0).';

-- A table with a BEFORE UPDATE trigger (as every table with updated_at has in the reference
-- schema): an upsert's RETURNING row could be skipped by it, a plain INSERT's cannot.
CREATE FUNCTION library_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE notes (
    id integer CONSTRAINT notes_pkey PRIMARY KEY,
    body text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER notes_touch_updated_at
    BEFORE UPDATE ON notes
    FOR EACH ROW EXECUTE FUNCTION library_touch_updated_at();

-- Ten shelves and 20,000 slots, analyzed: for "shelves LEFT JOIN slots" the planner hashes
-- the ten shelves and probes with the slots, a Hash Right Join with the nullable side as its
-- outer child. No foreign key and no index on slots.shelf_id: an index would invite a
-- nested loop instead.
CREATE TABLE shelves (
    id integer CONSTRAINT shelves_pkey PRIMARY KEY,
    label text NOT NULL
);

CREATE TABLE slots (
    shelf_id integer NOT NULL,
    position integer NOT NULL,
    note text NOT NULL
);

COMMENT ON TABLE slots IS 'Typegen test fixture: the large side of a Hash Right Join.';

INSERT INTO shelves (id, label) SELECT g, 'shelf ' || g FROM generate_series(1, 10) AS g;

INSERT INTO slots (shelf_id, position, note)
SELECT g % 20 + 1, g, 'slot ' || g FROM generate_series(1, 20000) AS g;

ANALYZE shelves;

ANALYZE slots;
