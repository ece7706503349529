-- 0023_nodes: the content tree of a workspace. Pages (parent_uuid NULL) and their nested
-- blocks live in one self-referencing table; a block carries its page's page_name.
--
-- Keys are deterministic so that re-importing the same content yields the same rows and keys:
-- a page's uuid comes from SHA-256('<workspace_id>::<page_name>'), a block's from
-- SHA-256('<page uuid>::<path of positions>') (e.g. '…::0.2.1'). node_uuid() below is the one
-- definition in SQL (seeds use it); plainsql.services.content computes the same in Python.
--
-- Reads this table must answer from indexes:
-- - a page's tree: the page by (workspace_id, page_name), its children by (parent_uuid, position);
-- - backlinks ("which blocks link to page X", a link being <a data-page="X"> in the html):
--   a GIN index over node_linked_pages(html), an IMMUTABLE function returning the linked page
--   names as text[], queried with node_linked_pages(html) @> ARRAY['X']. The function is one
--   SQL expression (string functions, no subquery), so PostgreSQL inlines it: about 2 us a
--   row on insert, where a regexp_matches() subquery version measured 10 to 24 us a row;
-- - full-text search: a stored tsvector of title (weight A) and html (weight B, the text
--   search parser drops the tags) with a GIN index.

CREATE FUNCTION node_uuid(key text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (
    SELECT encode(
        set_byte(
            set_byte(substring(h FROM 1 FOR 16), 6, (get_byte(h, 6) & 15) | 128),
            8, (get_byte(h, 8) & 63) | 128),
        'hex')::uuid
    FROM (SELECT sha256(convert_to(key, 'UTF8')) AS h) AS digest
);

COMMENT ON FUNCTION node_uuid(text) IS
    'Deterministic node key: the first 16 bytes of SHA-256(key) as a version-8 (RFC 9562), '
    'variant-10 uuid. key is ''<workspace_id>::<page_name>'' for a page, '
    '''<page uuid>::<positions joined by .>'' for a block.';

CREATE FUNCTION node_linked_pages(html text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN strpos(html, 'data-page="') = 0 THEN '{}'::text[] ELSE
    array_remove(string_to_array(
        replace(replace(replace(replace(replace(
            regexp_replace(
                regexp_replace(replace(html, 'data-page="', E'\x1e'),
                    E'[^\x1e]*\x1e([^"]*)', E'\\1\x1f', 'g'),
                E'[^\x1f]*$', ''),
            '&quot;', '"'), '&#39;', ''''), '&lt;', '<'), '&gt;', '>'), '&amp;', '&'),
        E'\x1f'), '')
END;

COMMENT ON FUNCTION node_linked_pages(text) IS
    'Names of the pages an html fragment links to: the value of every data-page="NAME" '
    'attribute (double-quoted, as HTML serializers write it), entities decoded, empty ones '
    'dropped. Backs nodes_linked_pages_idx: query with node_linked_pages(html) @> ARRAY[name].';

CREATE TABLE nodes (
    uuid          uuid        NOT NULL,
    workspace_id  bigint      NOT NULL,
    parent_uuid   uuid,
    position      integer     NOT NULL DEFAULT 0,
    page_name     text        NOT NULL,
    slug          text        NOT NULL,
    title         text        NOT NULL,
    html          text,
    metadata      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    search_vector tsvector    GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(html, '')), 'B')
    ) STORED,
    CONSTRAINT nodes_pkey PRIMARY KEY (uuid),
    CONSTRAINT nodes_workspace_id_fkey FOREIGN KEY (workspace_id)
        REFERENCES workspaces (id) ON DELETE CASCADE,
    CONSTRAINT nodes_parent_uuid_fkey FOREIGN KEY (parent_uuid)
        REFERENCES nodes (uuid) ON DELETE CASCADE,
    CONSTRAINT nodes_parent_not_self CHECK (parent_uuid <> uuid),
    CONSTRAINT nodes_page_name_not_blank CHECK (btrim(page_name) <> ''),
    CONSTRAINT nodes_metadata_is_object CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object')
);

-- The children of a node in order (and the index of the parent_uuid foreign key).
CREATE INDEX nodes_parent_uuid_position_idx ON nodes (parent_uuid, position);

-- Every node of a page (and the index of the workspace_id foreign key).
CREATE INDEX nodes_workspace_id_page_name_idx ON nodes (workspace_id, page_name);

-- One page per name in a workspace, whoever writes the row; also the ordered list of pages.
CREATE UNIQUE INDEX nodes_page_key ON nodes (workspace_id, page_name) WHERE parent_uuid IS NULL;

CREATE INDEX nodes_search_vector_idx ON nodes USING gin (search_vector);

CREATE INDEX nodes_linked_pages_idx ON nodes USING gin (node_linked_pages(html));

CREATE TRIGGER nodes_set_updated_at
    BEFORE UPDATE ON nodes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE nodes IS
    'Pages (parent_uuid NULL) and nested blocks of a workspace; deterministic uuids (node_uuid()).';
COMMENT ON COLUMN nodes.position IS 'Order among siblings (the source''s "order"; ORDER is reserved).';
COMMENT ON COLUMN nodes.page_name IS 'The page''s name (e.g. guides/setup/intro); a block carries its page''s.';
COMMENT ON COLUMN nodes.search_vector IS 'Full-text search document: title (weight A) and html text (weight B).';
