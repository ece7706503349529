-- name: get_project_file_by_path(project_id, user_id, path)^
-- The file at this path of the user's project, or nothing.
SELECT f.id, f.project_id, f.path, f.content, f.created_at, f.updated_at
FROM project_files AS f
JOIN projects AS p ON p.id = f.project_id
WHERE f.project_id = :project_id AND p.user_id = :user_id AND f.path = :path;

-- name: list_project_files(project_id, user_id, after_path, page_size)
-- One page of the files of the user's project, in path order, strictly after after_path (NULL =
-- the first page; none if the project is not theirs); a path is unique in its project
-- (project_files_project_id_path_key), which is read in order.
SELECT f.id, f.project_id, f.path, f.content, f.created_at, f.updated_at
FROM project_files AS f
JOIN projects AS p ON p.id = f.project_id
WHERE f.project_id = :project_id AND p.user_id = :user_id
  AND f.path > coalesce(:after_path::text, '')
ORDER BY f.path
LIMIT :page_size::integer;

-- name: upsert_project_file(project_id, user_id, path, content)<!
-- The file written at this path (created or replaced), or nothing if the project is not the user's.
INSERT INTO project_files (project_id, path, content)
SELECT p.id, :path, :content
FROM projects AS p
WHERE p.id = :project_id AND p.user_id = :user_id
ON CONFLICT (project_id, path) DO UPDATE SET content = EXCLUDED.content
RETURNING id, project_id, path, content, created_at, updated_at;

-- name: upsert_project_file_batch(project_id, user_id, path, content)*!
-- How many files were written: each row as upsert_project_file writes it (nothing for a project that is not the user's); run once per row, pipelined, so a batch costs one round trip.
INSERT INTO project_files (project_id, path, content)
SELECT p.id, :path, :content
FROM projects AS p
WHERE p.id = :project_id AND p.user_id = :user_id
ON CONFLICT (project_id, path) DO UPDATE SET content = EXCLUDED.content;

-- name: upsert_project_files(project_id, user_id, paths, contents)!
-- How many files were created or changed: paths[i] gets contents[i], the last one wins for a repeated path; files whose content is already that are left untouched.
INSERT INTO project_files (project_id, path, content)
SELECT DISTINCT ON (f.path) p.id, f.path, f.content
FROM projects AS p
CROSS JOIN unnest(:paths::text[], :contents::text[]) WITH ORDINALITY AS f (path, content, n)
WHERE p.id = :project_id AND p.user_id = :user_id
ORDER BY f.path, f.n DESC
ON CONFLICT (project_id, path) DO UPDATE SET content = EXCLUDED.content
    WHERE project_files.content IS DISTINCT FROM EXCLUDED.content;

-- name: delete_project_file(project_id, user_id, path)!
-- How many files were deleted (0 or 1).
DELETE FROM project_files AS f
USING projects AS p
WHERE p.id = f.project_id AND f.project_id = :project_id AND p.user_id = :user_id
  AND f.path = :path;

-- name: delete_project_files(project_id, user_id)!
-- How many files of the user's project were deleted.
DELETE FROM project_files AS f
USING projects AS p
WHERE p.id = f.project_id AND f.project_id = :project_id AND p.user_id = :user_id;
