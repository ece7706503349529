-- 20261207082949_team_directory_page rollback: the page path goes (list_team_members reads the
-- whole directory again).
-- squawk-ignore-file ban-drop-function

DROP FUNCTION app_team_directory_page(uuid, timestamptz, text, integer);
