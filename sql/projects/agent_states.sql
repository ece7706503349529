-- Every write here is ONE statement that computes the new value from the stored one, so N
-- concurrent writers leave N changes (the source read the row, edited it in Python and wrote
-- it back, losing concurrent updates). Each is scoped by the project's owner.
-- The counts "phase_count!" and "message_count!" are marked NOT NULL for typegen: phases and
-- conversation_history are NOT NULL and JSON arrays (CHECK agent_states_phases_is_array,
-- agent_states_conversation_history_is_array), and jsonb_array_length of an array is never NULL.

-- name: create_agent_state(project_id)<!
-- The fresh (idle, empty) agent state of a project.
INSERT INTO agent_states (project_id)
VALUES (:project_id)
RETURNING id, project_id, current_state, current_phase, phases, sandbox_id, preview_url,
          generated_files, conversation_history, created_at, updated_at;

-- name: get_agent_state_by_project_id(project_id, user_id)^
-- The agent state of the user's project, or nothing.
SELECT s.id, s.project_id, s.current_state, s.current_phase, s.phases, s.sandbox_id,
       s.preview_url, s.generated_files, s.conversation_history, s.created_at, s.updated_at
FROM agent_states AS s
JOIN projects AS p ON p.id = s.project_id
WHERE s.project_id = :project_id AND p.user_id = :user_id;

-- name: upsert_agent_state(project_id, user_id, current_state, current_phase, phases, sandbox_id, preview_url, generated_files, conversation_history)<!
-- The agent state of the user's project replaced whole (or created), or nothing if the project is not theirs.
INSERT INTO agent_states AS s (project_id, current_state, current_phase, phases, sandbox_id,
                               preview_url, generated_files, conversation_history)
SELECT p.id, :current_state, :current_phase, :phases::jsonb, :sandbox_id, :preview_url,
       :generated_files::text[], :conversation_history::jsonb
FROM projects AS p
WHERE p.id = :project_id AND p.user_id = :user_id
ON CONFLICT (project_id) DO UPDATE
SET current_state = EXCLUDED.current_state,
    current_phase = EXCLUDED.current_phase,
    phases = EXCLUDED.phases,
    sandbox_id = EXCLUDED.sandbox_id,
    preview_url = EXCLUDED.preview_url,
    generated_files = EXCLUDED.generated_files,
    conversation_history = EXCLUDED.conversation_history
RETURNING s.id, s.project_id, s.current_state, s.current_phase, s.phases, s.sandbox_id,
          s.preview_url, s.generated_files, s.conversation_history, s.created_at, s.updated_at;

-- name: upsert_agent_state_partial(project_id, user_id, current_state, current_phase, phases, sandbox_id, preview_url, generated_files, conversation_history)<!
-- A partial update of the agent state of the user's project (created when missing): a NULL argument keeps the stored value (a new state takes the column's default), anything given replaces it. Nothing if the project is not theirs.
INSERT INTO agent_states AS s (project_id, current_state, current_phase, phases, sandbox_id,
                               preview_url, generated_files, conversation_history)
SELECT p.id, coalesce(:current_state::text, 'idle'), :current_phase::integer,
       coalesce(:phases::jsonb, '[]'), :sandbox_id::text, :preview_url::text,
       coalesce(:generated_files::text[], '{}'), coalesce(:conversation_history::jsonb, '[]')
FROM projects AS p
WHERE p.id = :project_id AND p.user_id = :user_id
ON CONFLICT (project_id) DO UPDATE
SET current_state = coalesce(:current_state::text, s.current_state),
    current_phase = coalesce(:current_phase::integer, s.current_phase),
    phases = coalesce(:phases::jsonb, s.phases),
    sandbox_id = coalesce(:sandbox_id::text, s.sandbox_id),
    preview_url = coalesce(:preview_url::text, s.preview_url),
    generated_files = coalesce(:generated_files::text[], s.generated_files),
    conversation_history = coalesce(:conversation_history::jsonb, s.conversation_history)
RETURNING s.id, s.project_id, s.current_state, s.current_phase, s.phases, s.sandbox_id,
          s.preview_url, s.generated_files, s.conversation_history, s.created_at, s.updated_at;

-- name: delete_agent_state(project_id, user_id)!
-- How many agent states of the user's project were deleted (0 or 1); the project stays.
DELETE FROM agent_states AS s
USING projects AS p
WHERE p.id = s.project_id AND s.project_id = :project_id AND p.user_id = :user_id;

-- name: update_agent_state_current(project_id, user_id, current_state, current_phase)<!
-- The agent state with its current state and phase set, or nothing if the project is not the user's.
UPDATE agent_states AS s
SET current_state = :current_state,
    current_phase = :current_phase
FROM projects AS p
WHERE p.id = s.project_id AND s.project_id = :project_id AND p.user_id = :user_id
RETURNING s.id, s.project_id, s.current_state, s.current_phase, s.phases, s.sandbox_id,
          s.preview_url, s.generated_files, s.conversation_history, s.created_at, s.updated_at;

-- name: update_agent_state_append_phase(project_id, user_id, phase)<!
-- The number of phases after appending this one (a JSON object), which becomes the current phase (current_phase: its 0-based index), or nothing if the project is not the user's.
UPDATE agent_states AS s
SET phases = s.phases || jsonb_build_array(:phase::jsonb),
    current_phase = jsonb_array_length(s.phases)
FROM projects AS p
WHERE p.id = s.project_id AND s.project_id = :project_id AND p.user_id = :user_id
RETURNING jsonb_array_length(s.phases) AS "phase_count!";

-- name: update_agent_state_complete_phase(project_id, user_id, phase_index)<!
-- The agent state with phases[phase_index] marked completed, or nothing if the project is not the user's or has no such phase.
UPDATE agent_states AS s
SET phases = jsonb_set(s.phases, ARRAY[:phase_index::integer::text, 'completed'], 'true')
FROM projects AS p
WHERE p.id = s.project_id AND s.project_id = :project_id AND p.user_id = :user_id
  AND :phase_index::integer >= 0
  AND jsonb_typeof(s.phases -> :phase_index::integer) = 'object'
RETURNING s.id, s.project_id, s.current_state, s.current_phase, s.phases, s.sandbox_id,
          s.preview_url, s.generated_files, s.conversation_history, s.created_at, s.updated_at;

-- name: update_agent_state_add_generated_files(project_id, user_id, paths)<!
-- The generated files after adding the paths not yet listed (in order, once each), or nothing if the project is not the user's.
UPDATE agent_states AS s
SET generated_files = s.generated_files || ARRAY(
        SELECT g.path
        FROM unnest(:paths::text[]) WITH ORDINALITY AS g (path, n)
        WHERE g.path IS NOT NULL AND NOT (g.path = any(s.generated_files))
        GROUP BY g.path
        ORDER BY min(g.n))
FROM projects AS p
WHERE p.id = s.project_id AND s.project_id = :project_id AND p.user_id = :user_id
RETURNING s.generated_files;

-- name: update_agent_state_append_message(project_id, user_id, message)<!
-- The number of messages in the conversation after appending this one, or nothing if the project is not the user's.
UPDATE agent_states AS s
SET conversation_history = s.conversation_history || jsonb_build_array(:message::jsonb)
FROM projects AS p
WHERE p.id = s.project_id AND s.project_id = :project_id AND p.user_id = :user_id
RETURNING jsonb_array_length(s.conversation_history) AS "message_count!";

-- name: update_agent_state_sandbox(project_id, user_id, sandbox_id, preview_url)<!
-- The agent state with its sandbox id and preview url set (NULL clears), or nothing if the project is not the user's.
UPDATE agent_states AS s
SET sandbox_id = :sandbox_id,
    preview_url = :preview_url
FROM projects AS p
WHERE p.id = s.project_id AND s.project_id = :project_id AND p.user_id = :user_id
RETURNING s.id, s.project_id, s.current_state, s.current_phase, s.phases, s.sandbox_id,
          s.preview_url, s.generated_files, s.conversation_history, s.created_at, s.updated_at;

-- name: update_agent_state_reset(project_id, user_id)<!
-- The agent state with its run reset (idle, no current phase, no phases, no generated files), as the app builder's own reset does: the conversation history, the sandbox and the preview stay. Nothing if the project is not the user's.
UPDATE agent_states AS s
SET current_state = DEFAULT,
    current_phase = DEFAULT,
    phases = DEFAULT,
    generated_files = DEFAULT
FROM projects AS p
WHERE p.id = s.project_id AND s.project_id = :project_id AND p.user_id = :user_id
RETURNING s.id, s.project_id, s.current_state, s.current_phase, s.phases, s.sandbox_id,
          s.preview_url, s.generated_files, s.conversation_history, s.created_at, s.updated_at;

-- name: list_projects_with_last_phase_completed(user_id, before_updated_at, before_id, page_size)
-- One page of the user's projects whose last phase is marked completed, most recently updated first, strictly after the cursor (before_updated_at, before_id; NULL = the first page), read in order from projects_user_id_updated_at_idx, which the planner takes knowing how many states are completed (agent_states_last_phase_completed_stat, 20261207083955); see list_projects_page for a project updated while paging.
SELECT p.id, p.user_id, p.name, p.description, p.status, p.preview_url, p.sandbox_id,
       p.created_at, p.updated_at
FROM projects AS p
JOIN agent_states AS s ON s.project_id = p.id
WHERE p.user_id = :user_id
  AND s.phases -> -1 -> 'completed' = 'true'::jsonb
  AND (p.updated_at, p.id) < (coalesce(:before_updated_at::timestamptz, 'infinity'),
                              coalesce(:before_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY p.updated_at DESC, p.id DESC
LIMIT :page_size::integer;
