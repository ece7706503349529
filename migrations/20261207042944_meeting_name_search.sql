-- 20261207042944_meeting_name_search: the meeting name search runs through a path of its own,
-- so that the trigram index (meetings_user_id_name_trgm_idx, 20261207042942) can serve it.
--
-- Under row-level security PostgreSQL uses a condition of the query as an index condition only
-- when its function is LEAKPROOF (it could otherwise see, or raise an error about, a row the
-- policy hides). ILIKE (texticlike) is not, so as reference_app the search filtered the user's
-- meetings one by one whatever the index. app_search_meetings runs as the owner (no policy
-- applies), scoped to the acting user exactly as the policy meetings_own_rows is (user_id =
-- app_acting_user(); with no acting user it finds nothing), and only to the user it is asked
-- about: another user's id finds nothing. It returns only the ids of one page, in order; the
-- query list_meetings_by_name reads their rows through the policy, by primary key. It plans every call with the term's own value
-- (plan_cache_mode = force_custom_plan): a generic plan cannot tell a rare term, best read from
-- the trigram index, from a common one, best read newest first from the b-tree until the page
-- is full. The term is matched literally: its \, % and _ are escaped before ILIKE.
--
-- Granted to reference_app only (EXECUTE revoked from PUBLIC).

CREATE FUNCTION app_search_meetings(
    searched_user_id text, name_contains text, before_created_at timestamptz, before_id text,
    page_size integer
)
RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 1001 THEN
        RAISE EXCEPTION 'page_size must be between 1 and 1001'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT m.id
    FROM meetings AS m
    WHERE m.user_id = searched_user_id AND m.user_id = app_acting_user()
      AND m.name ILIKE '%' || replace(replace(replace(name_contains, '\', '\\'), '%', '\%'),
                                      '_', '\_') || '%'
      AND (m.created_at, m.id) < (coalesce(before_created_at, 'infinity'),
                                  coalesce(before_id, ''))
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT page_size;
END;
$$;

COMMENT ON FUNCTION app_search_meetings(text, text, timestamptz, text, integer) IS
    'The ids of one page of the acting user''s meetings whose name contains the text (literally, any case), newest first, after the cursor.';

REVOKE ALL ON FUNCTION app_search_meetings(text, text, timestamptz, text, integer) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_search_meetings(text, text, timestamptz, text, integer)
    TO reference_app;
