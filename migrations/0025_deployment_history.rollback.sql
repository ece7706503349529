-- 0025_deployment_history rollback: drop the table with its index and constraints.

DROP TABLE deployment_history;
