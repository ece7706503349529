-- 0043_agents_meetings rollback: drop the meetings, the agents and the meeting_status enum.

DROP TABLE meetings;

DROP TABLE agents;

DROP TYPE meeting_status;
