-- 0300_projects_meetings_videos: demo data for the AI app builder (projects, files, agent
-- state), the AI meeting app (agents, a meeting in each of the five statuses) and the
-- video library (summaries, tags, categories, keyframes), owned by the users of 0100_users.
-- Fixed keys and fixed timestamps, and ON CONFLICT DO NOTHING everywhere: a second run
-- changes nothing. Links to tags and categories are made by name, so a tag that someone
-- created earlier under another id is reused rather than duplicated.

-- Projects -------------------------------------------------------------------------------

INSERT INTO projects (id, user_id, name, description, status, preview_url, sandbox_id,
                      created_at, updated_at)
VALUES
    ('5eed0300-0000-4000-8000-000000000001', 'seed-user-alice', 'Todo app',
     'A todo list with React and a REST backend', 'ready',
     'https://todo-app.preview.example', 'sbx-seed-0001',
     '2025-01-06 09:00:00+00', '2025-01-06 11:30:00+00'),
    ('5eed0300-0000-4000-8000-000000000002', 'seed-user-alice', 'Landing page',
     'A marketing page for a coffee shop', 'generating', NULL, NULL,
     '2025-01-07 14:00:00+00', '2025-01-07 14:20:00+00'),
    ('5eed0300-0000-4000-8000-000000000003', 'seed-user-bob', 'Weather dashboard',
     'Charts of the week''s forecast', 'idle', NULL, NULL,
     '2025-01-08 08:00:00+00', '2025-01-08 08:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO project_files (id, project_id, path, content, created_at, updated_at)
VALUES
    ('5eed0300-0000-4000-8001-000000000001', '5eed0300-0000-4000-8000-000000000001',
     'package.json', '{"name": "todo-app", "private": true}',
     '2025-01-06 09:10:00+00', '2025-01-06 09:10:00+00'),
    ('5eed0300-0000-4000-8001-000000000002', '5eed0300-0000-4000-8000-000000000001',
     'src/App.tsx', 'export default function App() { return <TodoList />; }',
     '2025-01-06 09:20:00+00', '2025-01-06 10:00:00+00'),
    ('5eed0300-0000-4000-8001-000000000003', '5eed0300-0000-4000-8000-000000000001',
     'src/TodoList.tsx', 'export function TodoList() { return <ul />; }',
     '2025-01-06 09:30:00+00', '2025-01-06 09:30:00+00'),
    ('5eed0300-0000-4000-8001-000000000004', '5eed0300-0000-4000-8000-000000000002',
     'index.html', '<!doctype html><title>Coffee</title>',
     '2025-01-07 14:10:00+00', '2025-01-07 14:10:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO agent_states (id, project_id, current_state, current_phase, phases, sandbox_id,
                          preview_url, generated_files, conversation_history,
                          created_at, updated_at)
VALUES
    ('5eed0300-0000-4000-8002-000000000001', '5eed0300-0000-4000-8000-000000000001',
     'idle', 1,
     '[{"name": "Plan", "description": "Pick the stack and the files", "completed": true},
       {"name": "Build", "description": "Write the components", "completed": true}]',
     'sbx-seed-0001', 'https://todo-app.preview.example',
     '{package.json,src/App.tsx,src/TodoList.tsx}',
     '[{"role": "user", "content": "Build me a todo app"},
       {"role": "assistant", "content": "Done: the preview is ready."}]',
     '2025-01-06 09:00:00+00', '2025-01-06 11:30:00+00'),
    ('5eed0300-0000-4000-8002-000000000002', '5eed0300-0000-4000-8000-000000000002',
     'generating', 1,
     '[{"name": "Plan", "description": "One static page", "completed": true},
       {"name": "Build", "description": "Write the HTML and CSS", "completed": false}]',
     NULL, NULL, '{index.html}',
     '[{"role": "user", "content": "A landing page for my coffee shop"}]',
     '2025-01-07 14:00:00+00', '2025-01-07 14:20:00+00'),
    ('5eed0300-0000-4000-8002-000000000003', '5eed0300-0000-4000-8000-000000000003',
     'idle', NULL, '[]', NULL, NULL, '{}', '[]',
     '2025-01-08 08:00:00+00', '2025-01-08 08:00:00+00')
ON CONFLICT DO NOTHING;

-- Agents and meetings: one meeting in each status ------------------------------------------

INSERT INTO agents (id, name, user_id, instructions, created_at, updated_at)
VALUES
    ('seed-agent-tutor-0001', 'Math tutor', 'seed-user-alice',
     'Explain each step and check understanding before moving on.',
     '2025-02-01 09:00:00+00', '2025-02-01 09:00:00+00'),
    ('seed-agent-coach-0001', 'Interview coach', 'seed-user-alice',
     'Ask one behavioural question at a time and give short feedback.',
     '2025-02-02 09:00:00+00', '2025-02-02 09:00:00+00'),
    ('seed-agent-sales-0001', 'Sales assistant', 'seed-user-bob',
     'Summarise the customer''s needs and next steps.',
     '2025-02-03 09:00:00+00', '2025-02-03 09:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO meetings (id, name, user_id, agent_id, status, started_at, ended_at,
                      transcript_url, recording_url, summary, created_at, updated_at)
VALUES
    ('seed-meet-upcoming-01', 'Algebra revision', 'seed-user-alice', 'seed-agent-tutor-0001',
     'upcoming', NULL, NULL, NULL, NULL, NULL,
     '2025-02-10 09:00:00+00', '2025-02-10 09:00:00+00'),
    ('seed-meet-active-0001', 'Mock interview', 'seed-user-alice', 'seed-agent-coach-0001',
     'active', '2025-02-11 10:00:00+00', NULL, NULL, NULL, NULL,
     '2025-02-11 09:00:00+00', '2025-02-11 10:00:00+00'),
    ('seed-meet-process-001', 'Geometry basics', 'seed-user-alice', 'seed-agent-tutor-0001',
     'processing', '2025-02-09 15:00:00+00', '2025-02-09 15:45:00+00',
     NULL, 'https://recordings.example/seed-meet-process-001.mp4', NULL,
     '2025-02-09 14:00:00+00', '2025-02-09 15:45:00+00'),
    ('seed-meet-complete-01', 'Fractions', 'seed-user-alice', 'seed-agent-tutor-0001',
     'completed', '2025-02-05 15:00:00+00', '2025-02-05 15:30:00+00',
     'https://transcripts.example/seed-meet-complete-01.jsonl',
     'https://recordings.example/seed-meet-complete-01.mp4',
     'Covered adding fractions with unlike denominators; homework: exercises 4 to 9.',
     '2025-02-04 12:00:00+00', '2025-02-05 16:00:00+00'),
    ('seed-meet-cancel-0001', 'Salary negotiation', 'seed-user-alice', 'seed-agent-coach-0001',
     'cancelled', NULL, NULL, NULL, NULL, NULL,
     '2025-02-06 12:00:00+00', '2025-02-07 08:00:00+00'),
    ('seed-meet-bob-0000001', 'Discovery call', 'seed-user-bob', 'seed-agent-sales-0001',
     'upcoming', NULL, NULL, NULL, NULL, NULL,
     '2025-02-12 09:00:00+00', '2025-02-12 09:00:00+00')
ON CONFLICT DO NOTHING;

-- Video library ----------------------------------------------------------------------------

INSERT INTO video_summaries (id, user_id, youtube_url, youtube_id, title, description,
                             channel_name, duration, thumbnail_url, processing_status,
                             processing_error, ai_generated_content, created_at, updated_at)
VALUES
    ('seed-video-pgintro-01', 'seed-user-alice', 'https://www.youtube.com/watch?v=seedPgIntro',
     'seedPgIntro', 'PostgreSQL in 100 seconds', 'A very short introduction',
     'Seed Channel', 100, 'https://i.ytimg.com/vi/seedPgIntro/hqdefault.jpg', 'completed', NULL,
     '{"summary": "PostgreSQL is an open-source relational database.",
       "key_points": ["ACID", "extensible", "SQL standard"],
       "chapters": [{"start": 0, "title": "What it is"}, {"start": 60, "title": "Why use it"}]}',
     '2025-03-01 10:00:00+00', '2025-03-01 10:05:00+00'),
    ('seed-video-indexes-01', 'seed-user-alice', 'https://www.youtube.com/watch?v=seedIndexes',
     'seedIndexes', 'How B-tree indexes work', NULL,
     'Seed Channel', 1260, 'https://i.ytimg.com/vi/seedIndexes/hqdefault.jpg', 'processing',
     NULL, NULL, '2025-03-02 10:00:00+00', '2025-03-02 10:01:00+00'),
    ('seed-video-privacy-01', 'seed-user-bob', 'https://www.youtube.com/watch?v=seedPrivate',
     'seedPrivate', 'A private video', NULL, NULL, NULL, NULL, 'failed',
     'The video is private: no transcript available.', NULL,
     '2025-03-03 10:00:00+00', '2025-03-03 10:02:00+00'),
    ('seed-video-pgintro-02', 'seed-user-carol', 'https://www.youtube.com/watch?v=seedPgIntro',
     'seedPgIntro', 'PostgreSQL in 100 seconds', NULL, 'Seed Channel', 100, NULL, 'pending',
     NULL, NULL, '2025-03-04 10:00:00+00', '2025-03-04 10:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO tags (id, name, description, created_at)
VALUES
    ('seed-tag-postgres', 'postgres', 'PostgreSQL, the database', '2025-03-01 00:00:00+00'),
    ('seed-tag-databases', 'databases', NULL, '2025-03-01 00:00:00+00'),
    ('seed-tag-beginner', 'beginner', 'No prior knowledge needed', '2025-03-01 00:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO categories (id, name, description, created_at)
VALUES
    ('seed-category-tech', 'Technology', 'Software and hardware', '2025-03-01 00:00:00+00'),
    ('seed-category-edu', 'Education', 'Courses and explanations', '2025-03-01 00:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO video_summary_tags (video_summary_id, tag_id)
SELECT v.id, t.id
FROM (VALUES ('seed-video-pgintro-01', 'postgres'),
             ('seed-video-pgintro-01', 'databases'),
             ('seed-video-pgintro-01', 'beginner'),
             ('seed-video-indexes-01', 'postgres'),
             ('seed-video-pgintro-02', 'postgres')) AS l (video_id, tag_name)
JOIN video_summaries AS v ON v.id = l.video_id
JOIN tags AS t ON t.name = l.tag_name
ON CONFLICT DO NOTHING;

INSERT INTO video_summary_categories (video_summary_id, category_id)
SELECT v.id, c.id
FROM (VALUES ('seed-video-pgintro-01', 'Technology'),
             ('seed-video-pgintro-01', 'Education'),
             ('seed-video-indexes-01', 'Technology')) AS l (video_id, category_name)
JOIN video_summaries AS v ON v.id = l.video_id
JOIN categories AS c ON c.name = l.category_name
ON CONFLICT DO NOTHING;

INSERT INTO keyframes (id, video_summary_id, timestamp_seconds, image_url, description,
                       created_at)
SELECT k.id, v.id, k.timestamp_seconds, k.image_url, k.description, k.created_at::timestamptz
FROM (VALUES
    ('seed-keyframe-0000001', 'seed-video-pgintro-01', 0,
     'https://frames.example/seedPgIntro/0.jpg', 'Title card', '2025-03-01 10:05:00+00'),
    ('seed-keyframe-0000002', 'seed-video-pgintro-01', 42,
     'https://frames.example/seedPgIntro/42.jpg', 'The elephant logo', '2025-03-01 10:05:00+00'),
    ('seed-keyframe-0000003', 'seed-video-pgintro-01', 95,
     'https://frames.example/seedPgIntro/95.jpg', NULL, '2025-03-01 10:05:00+00'),
    ('seed-keyframe-0000004', 'seed-video-indexes-01', 300,
     'https://frames.example/seedIndexes/300.jpg', 'A B-tree diagram', '2025-03-02 10:01:00+00')
) AS k (id, video_id, timestamp_seconds, image_url, description, created_at)
JOIN video_summaries AS v ON v.id = k.video_id
ON CONFLICT DO NOTHING;
