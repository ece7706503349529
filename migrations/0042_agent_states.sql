-- 0042_agent_states: the AI app builder's agent state, one row per project, as JSONB.
-- The source application read this row, changed it in memory and wrote it back, so two
-- concurrent updates lost one of them. Here every change (append a phase or a message,
-- complete a phase, add a generated file) is one UPDATE computing the new value from the
-- stored one (phases || ..., jsonb_set, array merge), and the CHECKs keep phases and
-- conversation_history JSON arrays so that those operators stay well defined.

CREATE TABLE agent_states (
    id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
    project_id           uuid        NOT NULL,
    current_state        text        NOT NULL DEFAULT 'idle',
    current_phase        integer,
    phases               jsonb       NOT NULL DEFAULT '[]',
    sandbox_id           text,
    preview_url          text,
    generated_files      text[]      NOT NULL DEFAULT '{}',
    conversation_history jsonb       NOT NULL DEFAULT '[]',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agent_states_pkey PRIMARY KEY (id),
    CONSTRAINT agent_states_project_id_fkey FOREIGN KEY (project_id)
        REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT agent_states_project_id_key UNIQUE (project_id),
    CONSTRAINT agent_states_phases_is_array CHECK (jsonb_typeof(phases) = 'array'),
    CONSTRAINT agent_states_conversation_history_is_array
        CHECK (jsonb_typeof(conversation_history) = 'array'),
    CONSTRAINT agent_states_current_phase_not_negative CHECK (current_phase >= 0)
);

CREATE TRIGGER agent_states_set_updated_at
    BEFORE UPDATE ON agent_states
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE agent_states IS
    'The code-generating agent''s state for one project: phases (a JSON array of objects), '
    'the files it generated, its conversation. Every write is one atomic UPDATE.';
