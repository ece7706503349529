-- 20261207042943_catalogue_descriptions: an administrator edits the description of a shared
-- tag or category through a path of its own; the application role still never UPDATEs tags or
-- categories (0050 grants it SELECT and INSERT only).
--
-- A description is set when the tag or category is created (create_tag_if_missing,
-- create_category). Tags and categories are shared by every user, so a later edit changes what
-- every user sees: only an administrator (app_acting_user_is_admin(), 0054: an active user
-- whose global role is OWNER) may make it, as only one may change a user's role. Anyone else
-- gets insufficient_privilege.
--
-- The paths (SECURITY DEFINER, EXECUTE revoked from PUBLIC, granted to reference_app one by
-- one; each returns whether the row was found):
--   app_set_tag_description        sets (or clears, with NULL) a tag's description
--   app_set_category_description   the same for a category

CREATE FUNCTION app_set_tag_description(target_tag_id text, new_description text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF NOT app_acting_user_is_admin() THEN
        RAISE EXCEPTION 'only an administrator may edit a shared tag'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE tags SET description = new_description WHERE id = target_tag_id;
    RETURN FOUND;
END;
$$;

COMMENT ON FUNCTION app_set_tag_description(text, text) IS
    'Admin path: sets a shared tag''s description; true when found. Others: insufficient_privilege.';

CREATE FUNCTION app_set_category_description(target_category_id text, new_description text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF NOT app_acting_user_is_admin() THEN
        RAISE EXCEPTION 'only an administrator may edit a shared category'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE categories SET description = new_description WHERE id = target_category_id;
    RETURN FOUND;
END;
$$;

COMMENT ON FUNCTION app_set_category_description(text, text) IS
    'Admin path: sets a shared category''s description; true when found. Others: insufficient_privilege.';

REVOKE ALL ON FUNCTION
    app_set_tag_description(text, text),
    app_set_category_description(text, text)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_set_tag_description(text, text) TO reference_app;

GRANT EXECUTE ON FUNCTION app_set_category_description(text, text) TO reference_app;
