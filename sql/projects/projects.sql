-- name: get_project_by_id(project_id, user_id)^
-- The project if it belongs to the user, or nothing.
SELECT id, user_id, name, description, status, preview_url, sandbox_id, created_at, updated_at
FROM projects
WHERE id = :project_id AND user_id = :user_id;

-- name: list_project_with_files_by_id(project_id, user_id)
-- One row per file of the user's project (file_* NULL when it has none), path order, at most 10001; no rows if not theirs.
-- One consistent snapshot of the whole project, so not paged: a 10001st row makes the service
-- refuse (reference_apps.services.projects.MAX_FILES_AT_ONCE) rather than return a project
-- cut short; a larger project is read with list_project_files, a page at a time.
SELECT p.id, p.user_id, p.name, p.description, p.status, p.preview_url, p.sandbox_id,
       p.created_at, p.updated_at,
       f.id AS file_id, f.path AS file_path, f.content AS file_content,
       f.created_at AS file_created_at, f.updated_at AS file_updated_at
FROM projects AS p
LEFT JOIN project_files AS f ON f.project_id = p.id
WHERE p.id = :project_id AND p.user_id = :user_id
ORDER BY f.path
LIMIT 10001;

-- name: create_project(user_id, name, description)<!
-- The new project.
INSERT INTO projects (user_id, name, description)
VALUES (:user_id, :name, :description)
RETURNING id, user_id, name, description, status, preview_url, sandbox_id, created_at, updated_at;

-- name: update_project(project_id, user_id, name, description)<!
-- The project with its name and/or description replaced (NULL keeps a value), or nothing if not the user's.
UPDATE projects
SET name = coalesce(:name, name),
    description = coalesce(:description, description)
WHERE id = :project_id AND user_id = :user_id
RETURNING id, user_id, name, description, status, preview_url, sandbox_id, created_at, updated_at;

-- name: update_project_status(project_id, user_id, status)<!
-- The project with its new status, or nothing if not the user's.
UPDATE projects
SET status = :status
WHERE id = :project_id AND user_id = :user_id
RETURNING id, user_id, name, description, status, preview_url, sandbox_id, created_at, updated_at;

-- name: update_project_preview(project_id, user_id, preview_url, set_sandbox, sandbox_id)<!
-- The project with its preview url set (NULL clears it) and, only when set_sandbox, its sandbox id too (NULL clears it); nothing if not the user's.
UPDATE projects
SET preview_url = :preview_url,
    sandbox_id = CASE WHEN :set_sandbox::boolean THEN :sandbox_id ELSE sandbox_id END
WHERE id = :project_id AND user_id = :user_id
RETURNING id, user_id, name, description, status, preview_url, sandbox_id, created_at, updated_at;

-- name: delete_project(project_id, user_id)!
-- How many projects were deleted (0 or 1); files and agent state go with it (ON DELETE CASCADE).
DELETE FROM projects
WHERE id = :project_id AND user_id = :user_id;

-- name: list_projects_page(user_id, before_updated_at, before_id, page_size)
-- One page of the user's projects, most recently updated first, each with its file_count, strictly after the cursor (before_updated_at, before_id; NULL = the first page). A project updated while paging moves to the front: it may be missed by, or come again in, a walk already under way.
SELECT p.id, p.user_id, p.name, p.description, p.status, p.preview_url, p.sandbox_id,
       p.created_at, p.updated_at,
       (SELECT count(*) FROM project_files AS f WHERE f.project_id = p.id) AS file_count
FROM projects AS p
WHERE p.user_id = :user_id
  AND (p.updated_at, p.id) < (coalesce(:before_updated_at::timestamptz, 'infinity'),
                              coalesce(:before_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY p.updated_at DESC, p.id DESC
LIMIT :page_size::integer;

-- name: list_projects_by_status(user_id, status, before_updated_at, before_id, page_size)
-- One page of the user's projects in one status, most recently updated first, with file_count (see list_projects_page).
SELECT p.id, p.user_id, p.name, p.description, p.status, p.preview_url, p.sandbox_id,
       p.created_at, p.updated_at,
       (SELECT count(*) FROM project_files AS f WHERE f.project_id = p.id) AS file_count
FROM projects AS p
WHERE p.user_id = :user_id AND p.status = :status
  AND (p.updated_at, p.id) < (coalesce(:before_updated_at::timestamptz, 'infinity'),
                              coalesce(:before_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY p.updated_at DESC, p.id DESC
LIMIT :page_size::integer;
