-- 20261207083955_agent_states_completed_statistics rollback: the statistics go (the planner
-- guesses the completed share again).

DROP STATISTICS agent_states_last_phase_completed_stat;
