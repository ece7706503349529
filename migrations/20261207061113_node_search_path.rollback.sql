-- 20261207061113_node_search_path rollback: the search path goes (the workspace search is again a
-- filter over the workspace's nodes).
-- squawk-ignore-file ban-drop-function

DROP FUNCTION app_search_nodes(bigint, text, integer);
