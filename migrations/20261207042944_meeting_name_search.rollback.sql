-- 20261207042944_meeting_name_search rollback: the search path goes (the name search is again
-- a filter over the user's meetings).
-- squawk-ignore-file ban-drop-function

DROP FUNCTION app_search_meetings(text, text, timestamptz, text, integer);
