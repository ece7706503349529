-- 0041_projects: the AI app builder's projects and the files the agent writes into them.
-- A user's project list is shown newest update first: (user_id, updated_at DESC, id DESC)
-- answers it from the index and also serves the foreign key on user_id. Files are unique per
-- (project_id, path), so that "upsert by path" is one well-defined INSERT ... ON CONFLICT.

CREATE TABLE projects (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id     text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL,
    status      text        NOT NULL DEFAULT 'idle',
    preview_url text,
    sandbox_id  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_pkey PRIMARY KEY (id),
    CONSTRAINT projects_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT projects_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT projects_status_not_blank CHECK (btrim(status) <> '')
);

CREATE INDEX projects_user_id_updated_at_idx ON projects (user_id, updated_at DESC, id DESC);

CREATE TRIGGER projects_set_updated_at
    BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE projects IS
    'AI app builder projects. status is free text set by the agent (default idle); '
    'preview_url and sandbox_id point at the running sandbox, when there is one.';

CREATE TABLE project_files (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    project_id uuid        NOT NULL,
    path       text        NOT NULL,
    content    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_files_pkey PRIMARY KEY (id),
    CONSTRAINT project_files_project_id_fkey FOREIGN KEY (project_id)
        REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT project_files_project_id_path_key UNIQUE (project_id, path),
    CONSTRAINT project_files_path_not_blank CHECK (btrim(path) <> '')
);

CREATE TRIGGER project_files_set_updated_at
    BEFORE UPDATE ON project_files
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE project_files IS
    'Source files of a project, one row per path; the unique (project_id, path) makes '
    'upsert by path, single or bulk, one INSERT ... ON CONFLICT statement.';
