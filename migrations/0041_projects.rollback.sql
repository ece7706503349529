-- 0041_projects rollback: drop the project files and the projects (their indexes,
-- constraints and triggers go with the tables).

DROP TABLE project_files;

DROP TABLE projects;
