-- 20261207060516_video_search_path: the video search runs through a path of its own, so that
-- the full-text index (video_summaries_search_idx) can serve it.
--
-- Under row-level security PostgreSQL uses a condition of the query as an index condition only
-- when its function is LEAKPROOF (it could otherwise see, or raise an error about, a row the
-- policy hides). The full-text match tsvector @@ tsquery (ts_match_vq) is not, so as
-- reference_app list_video_summaries_search rebuilt and tested the document of every one of
-- the user's videos whatever the index (as the meeting name search did: 20261207042944).
-- app_search_video_summaries runs as the owner (no policy applies), scoped to the acting user
-- exactly as the policy video_summaries_own_rows is (user_id = app_acting_user(); with no
-- acting user it finds nothing), and only to the user it is asked about: another user's id
-- finds nothing. It returns only the ids of the top matches, best first (ts_rank, then newest,
-- then id: the query's own order); the query reads their rows through the policy, by primary
-- key, and ranks those few again for its result. It plans every call with the query's own
-- value (plan_cache_mode = force_custom_plan): a generic plan cannot tell a rare term, best
-- read from the full-text index, from a common one.
--
-- Granted to reference_app only (EXECUTE revoked from PUBLIC).

CREATE FUNCTION app_search_video_summaries(
    searched_user_id text, search_query text, result_limit integer
)
RETURNS SETOF text
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
    SELECT v.id
    FROM video_summaries AS v
    WHERE v.user_id = searched_user_id AND v.user_id = app_acting_user()
      AND video_search_vector(v.title, v.ai_generated_content) @@ matched
    ORDER BY ts_rank(video_search_vector(v.title, v.ai_generated_content), matched) DESC,
             v.created_at DESC, v.id DESC
    LIMIT result_limit;
END;
$$;

COMMENT ON FUNCTION app_search_video_summaries(text, text, integer) IS
    'The ids of the acting user''s videos best matching the web-search style query (ts_rank over video_search_vector, then newest first), at most result_limit.';

REVOKE ALL ON FUNCTION app_search_video_summaries(text, text, integer) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_search_video_summaries(text, text, integer) TO reference_app;
