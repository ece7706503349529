-- 0044_video_library: the video-summary library: a user's YouTube video summaries, the tags
-- and categories shared by every user, the links between them, and keyframes in time order.
-- youtube_id is unique per user (the duplicate check when a user adds a video twice); that
-- unique constraint starts with user_id, so it also indexes the foreign key. Ids default to
-- generate_id() (0040). Tags are created by name when missing (INSERT ... ON CONFLICT (name)).

CREATE TYPE processing_status AS ENUM ('pending', 'processing', 'completed', 'failed');

COMMENT ON TYPE processing_status IS 'Where the AI summary of a video is: pending -> processing -> completed or failed.';

CREATE TABLE video_summaries (
    id                   text              NOT NULL DEFAULT generate_id(),
    user_id              text              NOT NULL,
    youtube_url          text              NOT NULL,
    youtube_id           text              NOT NULL,
    title                text              NOT NULL,
    description          text,
    channel_name         text,
    duration             integer,
    thumbnail_url        text,
    processing_status    processing_status NOT NULL DEFAULT 'pending',
    processing_error     text,
    ai_generated_content jsonb,
    created_at           timestamptz       NOT NULL DEFAULT now(),
    updated_at           timestamptz       NOT NULL DEFAULT now(),
    CONSTRAINT video_summaries_pkey PRIMARY KEY (id),
    CONSTRAINT video_summaries_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT video_summaries_user_id_youtube_id_key UNIQUE (user_id, youtube_id),
    CONSTRAINT video_summaries_youtube_id_not_blank CHECK (btrim(youtube_id) <> ''),
    CONSTRAINT video_summaries_duration_not_negative CHECK (duration >= 0)
);

CREATE INDEX video_summaries_user_id_created_at_idx
    ON video_summaries (user_id, created_at DESC, id DESC);

CREATE TRIGGER video_summaries_set_updated_at
    BEFORE UPDATE ON video_summaries
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE video_summaries IS
    'A user''s summary of one YouTube video; ai_generated_content holds the model''s output '
    'once processing_status is completed, processing_error the reason when it failed.';

CREATE TABLE tags (
    id          text        NOT NULL DEFAULT generate_id(),
    name        text        NOT NULL,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tags_pkey PRIMARY KEY (id),
    CONSTRAINT tags_name_key UNIQUE (name),
    CONSTRAINT tags_name_not_blank CHECK (btrim(name) <> '')
);

COMMENT ON TABLE tags IS 'Free-form labels shared by every user''s videos, created by name on first use.';

CREATE TABLE categories (
    id          text        NOT NULL DEFAULT generate_id(),
    name        text        NOT NULL,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categories_pkey PRIMARY KEY (id),
    CONSTRAINT categories_name_key UNIQUE (name),
    CONSTRAINT categories_name_not_blank CHECK (btrim(name) <> '')
);

COMMENT ON TABLE categories IS 'A curated list of video categories shared by every user.';

CREATE TABLE video_summary_tags (
    video_summary_id text NOT NULL,
    tag_id           text NOT NULL,
    CONSTRAINT video_summary_tags_pkey PRIMARY KEY (video_summary_id, tag_id),
    CONSTRAINT video_summary_tags_video_summary_id_fkey FOREIGN KEY (video_summary_id)
        REFERENCES video_summaries (id) ON DELETE CASCADE,
    CONSTRAINT video_summary_tags_tag_id_fkey FOREIGN KEY (tag_id)
        REFERENCES tags (id) ON DELETE CASCADE
);

CREATE INDEX video_summary_tags_tag_id_idx ON video_summary_tags (tag_id);

CREATE TABLE video_summary_categories (
    video_summary_id text NOT NULL,
    category_id      text NOT NULL,
    CONSTRAINT video_summary_categories_pkey PRIMARY KEY (video_summary_id, category_id),
    CONSTRAINT video_summary_categories_video_summary_id_fkey FOREIGN KEY (video_summary_id)
        REFERENCES video_summaries (id) ON DELETE CASCADE,
    CONSTRAINT video_summary_categories_category_id_fkey FOREIGN KEY (category_id)
        REFERENCES categories (id) ON DELETE CASCADE
);

CREATE INDEX video_summary_categories_category_id_idx ON video_summary_categories (category_id);

CREATE TABLE keyframes (
    id                text        NOT NULL DEFAULT generate_id(),
    video_summary_id  text        NOT NULL,
    timestamp_seconds integer     NOT NULL,
    image_url         text        NOT NULL,
    description       text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT keyframes_pkey PRIMARY KEY (id),
    CONSTRAINT keyframes_video_summary_id_fkey FOREIGN KEY (video_summary_id)
        REFERENCES video_summaries (id) ON DELETE CASCADE,
    CONSTRAINT keyframes_timestamp_seconds_not_negative CHECK (timestamp_seconds >= 0)
);

CREATE INDEX keyframes_video_summary_id_timestamp_idx
    ON keyframes (video_summary_id, timestamp_seconds, id);

COMMENT ON TABLE keyframes IS
    'Still images of a video at a point in time (timestamp_seconds: the source''s timestamp).';
