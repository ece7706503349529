-- 0007_teams rollback: drop the teams table with its constraints and trigger.

DROP TABLE teams;
