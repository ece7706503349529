-- name: create_agent(user_id, name, instructions)<!
-- The new agent, with its database-generated 21-character id.
INSERT INTO agents (user_id, name, instructions)
VALUES (:user_id, :name, :instructions)
RETURNING id, name, user_id, instructions, created_at, updated_at;

-- name: get_agent_by_id(agent_id, user_id)^
-- The agent if it belongs to the user, or nothing.
SELECT id, name, user_id, instructions, created_at, updated_at
FROM agents
WHERE id = :agent_id AND user_id = :user_id;

-- name: list_agents_by_user(user_id, before_created_at, before_id, page_size)
-- One page of the user's agents with how many meetings each has, newest first, strictly after the cursor (before_created_at, before_id); NULL cursor = first page.
SELECT a.id, a.name, a.user_id, a.instructions, a.created_at, a.updated_at,
       (SELECT count(*) FROM meetings AS m WHERE m.agent_id = a.id) AS meeting_count
FROM agents AS a
WHERE a.user_id = :user_id
  AND (a.created_at, a.id) < (coalesce(:before_created_at::timestamptz, 'infinity'),
                              coalesce(:before_id::text, ''))
ORDER BY a.created_at DESC, a.id DESC
LIMIT :page_size::integer;

-- name: update_agent(agent_id, user_id, name, instructions)<!
-- The agent with its name and/or instructions replaced (NULL keeps a value), or nothing if not the user's.
UPDATE agents
SET name = coalesce(:name, name),
    instructions = coalesce(:instructions, instructions)
WHERE id = :agent_id AND user_id = :user_id
RETURNING id, name, user_id, instructions, created_at, updated_at;

-- name: delete_agent(agent_id, user_id)!
-- How many agents were deleted (0 or 1); their meetings go with them (ON DELETE CASCADE).
DELETE FROM agents
WHERE id = :agent_id AND user_id = :user_id;
