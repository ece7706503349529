-- 0024_git_repositories rollback: drop the table with its constraints and trigger.

DROP TABLE git_repositories;
