-- 20261207061113_node_search_path: the workspace search (content.list_search_results) runs
-- through a path of its own, so that the full-text index (nodes_search_vector_idx) can serve it.
--
-- As for the video search (20261207060516): under row-level security the match
-- search_vector @@ tsquery is not LEAKPROOF, so as reference_app it was a filter over every
-- node the policy let through (a sequential scan of nodes, whatever the index).
-- app_search_nodes runs as the owner (no policy applies), scoped exactly as the policy
-- nodes_own_workspace is (the workspace is one of app_acting_user()'s; with no acting user it
-- finds nothing), and only to the workspace it is asked about. It returns only the uuids of
-- the top matches, best first (ts_rank, then page name, position, uuid: the query's own
-- order); the query reads their rows through the policy, by primary key, and ranks those few
-- again for its result. It plans every call with the query's own value
-- (plan_cache_mode = force_custom_plan).
--
-- Granted to reference_app only (EXECUTE revoked from PUBLIC). The site's visitors have no
-- search.

CREATE FUNCTION app_search_nodes(
    searched_workspace_id bigint, search_query text, result_limit integer
)
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    matched tsquery := websearch_to_tsquery('english', search_query);
BEGIN
    IF result_limit IS NULL OR result_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'result_limit must be between 1 and 1000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT n.uuid
    FROM nodes AS n
    WHERE n.workspace_id = searched_workspace_id
      AND n.workspace_id IN (SELECT w.id FROM workspaces AS w
                             WHERE w.user_id = app_acting_user())
      AND n.search_vector @@ matched
    ORDER BY ts_rank(n.search_vector, matched) DESC, n.page_name, n.position, n.uuid
    LIMIT result_limit;
END;
$$;

COMMENT ON FUNCTION app_search_nodes(bigint, text, integer) IS
    'The uuids of the nodes of one of the acting user''s workspaces best matching the web-search style query (ts_rank over search_vector, then page name and position), at most result_limit.';

REVOKE ALL ON FUNCTION app_search_nodes(bigint, text, integer) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_search_nodes(bigint, text, integer) TO reference_app;
