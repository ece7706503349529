-- The table nodes as it was before its keys were scoped to their workspace (main 7877ad2,
-- `git show 7877ad2:schema.sql`), for the benchmarks' "before" contenders (bulk_import,
-- cascade_delete): run on a second copy of the migrated template, it replaces that copy's
-- nodes, so the same service code and the same SQL run against either shape, in the same run,
-- on the same rows.
--
-- Copied from 7877ad2 as it was: the columns and checks, the primary key (uuid) alone, the
-- parent key parent_uuid -> nodes (uuid) ON DELETE CASCADE and its index (parent_uuid,
-- position), the pages' unique name and slug indexes, the plain (workspace_id, page_name)
-- index, both GIN indexes, the updated_at trigger, row-level security (forced) with its one
-- policy (no visitor's policy yet), and reference_app's privileges.

DROP TABLE public.nodes;

CREATE TABLE public.nodes (
    uuid uuid NOT NULL,
    workspace_id bigint NOT NULL,
    parent_uuid uuid,
    "position" integer DEFAULT 0 NOT NULL,
    page_name text NOT NULL,
    slug text NOT NULL,
    title text NOT NULL,
    html text,
    metadata jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    search_vector tsvector GENERATED ALWAYS AS ((setweight(to_tsvector('english'::regconfig, title), 'A'::"char") || setweight(to_tsvector('english'::regconfig, COALESCE(html, ''::text)), 'B'::"char"))) STORED,
    CONSTRAINT nodes_metadata_is_object CHECK (((metadata IS NULL) OR (jsonb_typeof(metadata) = 'object'::text))),
    CONSTRAINT nodes_page_name_not_blank CHECK ((btrim(page_name) <> ''::text)),
    CONSTRAINT nodes_parent_not_self CHECK ((parent_uuid <> uuid))
);

ALTER TABLE ONLY public.nodes FORCE ROW LEVEL SECURITY;

ALTER TABLE ONLY public.nodes
    ADD CONSTRAINT nodes_pkey PRIMARY KEY (uuid);

CREATE INDEX nodes_linked_pages_idx ON public.nodes USING gin (public.node_linked_pages(html));

CREATE UNIQUE INDEX nodes_page_key ON public.nodes USING btree (workspace_id, page_name) WHERE (parent_uuid IS NULL);

CREATE INDEX nodes_page_slug_idx ON public.nodes USING btree (workspace_id, slug) WHERE (parent_uuid IS NULL);

CREATE INDEX nodes_parent_uuid_position_idx ON public.nodes USING btree (parent_uuid, "position");

CREATE INDEX nodes_search_vector_idx ON public.nodes USING gin (search_vector);

CREATE INDEX nodes_workspace_id_page_name_idx ON public.nodes USING btree (workspace_id, page_name);

CREATE TRIGGER nodes_set_updated_at BEFORE UPDATE ON public.nodes FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

ALTER TABLE ONLY public.nodes
    ADD CONSTRAINT nodes_parent_uuid_fkey FOREIGN KEY (parent_uuid) REFERENCES public.nodes(uuid) ON DELETE CASCADE;

ALTER TABLE ONLY public.nodes
    ADD CONSTRAINT nodes_workspace_id_fkey FOREIGN KEY (workspace_id) REFERENCES public.workspaces(id) ON DELETE CASCADE;

ALTER TABLE public.nodes ENABLE ROW LEVEL SECURITY;

CREATE POLICY nodes_own_workspace ON public.nodes TO reference_app USING ((workspace_id IN ( SELECT workspaces.id
   FROM public.workspaces
  WHERE (workspaces.user_id = public.app_acting_user()))));

GRANT SELECT, INSERT, UPDATE, DELETE ON public.nodes TO reference_app;
