-- 20261207060516_video_search_path rollback: the search path goes (the video search is again
-- a filter over the user's videos).
-- squawk-ignore-file ban-drop-function

DROP FUNCTION app_search_video_summaries(text, text, integer);
