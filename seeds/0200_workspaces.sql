-- 0200_workspaces: Alice's notes site: a workspace, three pages with nested blocks (one
-- linking another page, so backlinks have something to show), a git repository and two
-- deployments. Idempotent: fixed keys (the user, the slug, node uuids from node_uuid(),
-- commit shas) and ON CONFLICT DO NOTHING / NOT EXISTS. Node keys follow the import's rule:
-- a page is node_uuid('<workspace_id>::<page_name>'), a block node_uuid('<page uuid>::<path>').

INSERT INTO workspaces (user_id, slug, name, domain, embed_depth)
VALUES ('seed-user-alice', 'alice', 'Alice''s notes', 'notes.alice.example', 5)
ON CONFLICT DO NOTHING;

INSERT INTO nodes (uuid, workspace_id, parent_uuid, position, page_name, slug, title, html, metadata)
SELECT node_uuid(w.id::text || '::' || p.page_name), w.id, NULL, p.position, p.page_name, p.slug,
       p.title, p.html, p.metadata::jsonb
FROM workspaces AS w
CROSS JOIN (VALUES
    (0, 'index', 'index', 'Welcome', '<p>Notes on tools I use.</p>', '{"tags": ["home"]}'),
    (1, 'guides/getting-started', 'guides/getting-started', 'Getting started',
        '<p>From zero to a running setup.</p>', '{"tags": ["guide"], "draft": false}'),
    (2, 'reference/faq', 'reference/faq', 'FAQ', NULL, NULL)
) AS p (position, page_name, slug, title, html, metadata)
WHERE w.user_id = 'seed-user-alice'
ON CONFLICT (workspace_id, uuid) DO NOTHING;

-- path: positions from the page down ('0.1' = second child of the first block); the
-- position is its last number, the parent the path without it (or the page).
INSERT INTO nodes (uuid, workspace_id, parent_uuid, position, page_name, slug, title, html)
SELECT node_uuid(page.uuid::text || '::' || b.path),
       w.id,
       CASE WHEN strpos(b.path, '.') = 0 THEN page.uuid
            ELSE node_uuid(page.uuid::text || '::' || regexp_replace(b.path, '\.[0-9]+$', ''))
       END,
       regexp_replace(b.path, '^.*\.', '')::integer,
       b.page_name, page.slug, '', b.html
FROM workspaces AS w
CROSS JOIN (VALUES
    ('index', '0', '<p>Start with <a data-page="guides/getting-started">Getting started</a>.</p>'),
    ('index', '1', '<p>Questions go to the <a data-page="reference/faq">FAQ</a>.</p>'),
    ('guides/getting-started', '0', '<p>Install the command line tool.</p>'),
    ('guides/getting-started', '0.0', '<p>On Linux: use the package manager.</p>'),
    ('guides/getting-started', '0.1', '<p>On macOS:</p>'),
    ('guides/getting-started', '0.1.0', '<p>with Homebrew, <code>brew install notes</code>.</p>'),
    ('guides/getting-started', '1', '<p>Stuck? Read the <a data-page="reference/faq">FAQ</a>.</p>'),
    ('reference/faq', '0', '<p>Is it free? Yes.</p>'),
    ('reference/faq', '1', '<p>Where do I begin? <a data-page="guides/getting-started">Here</a>.</p>')
) AS b (page_name, path, html)
JOIN nodes AS page
    ON page.workspace_id = w.id AND page.uuid = node_uuid(w.id::text || '::' || b.page_name)
WHERE w.user_id = 'seed-user-alice'
ON CONFLICT (workspace_id, uuid) DO NOTHING;

INSERT INTO git_repositories (workspace_id, repo_url, branch, last_sync, sync_status)
SELECT w.id, 'https://git.example.com/alice/notes.git', 'main', '2024-05-01 12:00:00+00', 'success'
FROM workspaces AS w
WHERE w.user_id = 'seed-user-alice'
ON CONFLICT (workspace_id) DO NOTHING;

INSERT INTO deployment_history (workspace_id, commit_sha, status, deployed_at, error_log, build_log)
SELECT w.id, d.commit_sha, d.status::deployment_status, d.deployed_at::timestamptz, d.error_log,
       d.build_log::jsonb
FROM workspaces AS w
CROSS JOIN (VALUES
    ('3f2a9c1e0b7d4e5f6a7b8c9d0e1f2a3b4c5d6e7f', 'failed', '2024-05-01 11:00:00+00',
        'page guides/getting-started: unclosed <code> tag',
        '["cloning", "building 3 pages", "error: unclosed <code> tag"]'),
    ('8d41be07c5aa1f2e3d4c5b6a7980a1b2c3d4e5f6', 'success', '2024-05-01 12:00:00+00', NULL,
        '["cloning", "building 3 pages", "published"]')
) AS d (commit_sha, status, deployed_at, error_log, build_log)
WHERE w.user_id = 'seed-user-alice'
    AND NOT EXISTS (
        SELECT 1 FROM deployment_history AS h
        WHERE h.workspace_id = w.id AND h.commit_sha = d.commit_sha
    );
