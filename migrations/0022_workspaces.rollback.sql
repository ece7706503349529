-- 0022_workspaces rollback: drop the workspaces table with its constraints and trigger.

DROP TABLE workspaces;
