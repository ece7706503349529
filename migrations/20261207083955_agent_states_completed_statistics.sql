-- 20261207083955_agent_states_completed_statistics: the planner learns how many agent states
-- have their last phase completed, so that a page of list_projects_with_last_phase_completed
-- walks the user's projects in order (projects_user_id_updated_at_idx) until the page is full.
--
-- Without statistics on the expression phases -> -1 -> 'completed' the planner guesses that
-- one state in 200 matches: a page would then look nearly empty, and it read all of the
-- user's projects after the cursor, joined them with every visible agent state (a Seq Scan of
-- agent_states) and sorted them. With these statistics (gathered by ANALYZE, here and by
-- autovacuum after) it estimates from the data. CREATE STATISTICS takes a SHARE UPDATE
-- EXCLUSIVE lock, as ANALYZE does: reads and writes go on.

CREATE STATISTICS agent_states_last_phase_completed_stat
    ON ((phases -> -1 -> 'completed')) FROM agent_states;

COMMENT ON STATISTICS agent_states_last_phase_completed_stat IS
    'How many agent states have their last phase completed: list_projects_with_last_phase_completed pages in index order.';

ANALYZE agent_states;
