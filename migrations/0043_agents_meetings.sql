-- 0043_agents_meetings: the AI meeting app's agents and the meetings they attend.
-- Ids are generate_id() (0040): 21-character URL-safe, made by the database when not given.
-- A meeting moves upcoming -> active -> processing -> completed, or is cancelled from
-- upcoming or active; each move is one conditional UPDATE (see sql/meetings/meetings.sql).
-- ended_at is never before started_at (a CHECK, so no writer can break it). A user's meetings
-- are listed newest first by keyset on (created_at, id): the index below answers that and
-- serves the foreign key on user_id.

CREATE TYPE meeting_status AS ENUM ('upcoming', 'active', 'completed', 'processing', 'cancelled');

COMMENT ON TYPE meeting_status IS
    'Lifecycle of a meeting: upcoming -> active -> processing -> completed; '
    'upcoming or active -> cancelled.';

CREATE TABLE agents (
    id           text        NOT NULL DEFAULT generate_id(),
    name         text        NOT NULL,
    user_id      text        NOT NULL,
    instructions text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agents_pkey PRIMARY KEY (id),
    CONSTRAINT agents_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT agents_name_not_blank CHECK (btrim(name) <> '')
);

CREATE INDEX agents_user_id_created_at_idx ON agents (user_id, created_at DESC, id DESC);

CREATE TRIGGER agents_set_updated_at
    BEFORE UPDATE ON agents
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE agents IS 'AI agents a user creates; each follows its instructions in meetings.';

CREATE TABLE meetings (
    id             text           NOT NULL DEFAULT generate_id(),
    name           text           NOT NULL,
    user_id        text           NOT NULL,
    agent_id       text           NOT NULL,
    status         meeting_status NOT NULL DEFAULT 'upcoming',
    started_at     timestamptz,
    ended_at       timestamptz,
    transcript_url text,
    recording_url  text,
    summary        text,
    created_at     timestamptz    NOT NULL DEFAULT now(),
    updated_at     timestamptz    NOT NULL DEFAULT now(),
    CONSTRAINT meetings_pkey PRIMARY KEY (id),
    CONSTRAINT meetings_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT meetings_agent_id_fkey FOREIGN KEY (agent_id)
        REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT meetings_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT meetings_ended_after_started CHECK (ended_at >= started_at)
);

CREATE INDEX meetings_user_id_created_at_idx ON meetings (user_id, created_at DESC, id DESC);

CREATE INDEX meetings_agent_id_idx ON meetings (agent_id);

CREATE TRIGGER meetings_set_updated_at
    BEFORE UPDATE ON meetings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE meetings IS
    'A meeting between a user and one of their agents. started_at is set on upcoming -> active, '
    'ended_at on active -> processing (or active -> cancelled); ended_at >= started_at.';
