-- 0042_agent_states rollback: drop the agent states.

DROP TABLE agent_states;
