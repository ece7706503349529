-- 20261207042943_catalogue_descriptions rollback: the administrators' paths go; descriptions
-- are again set only at creation.
-- squawk-ignore-file ban-drop-function

DROP FUNCTION app_set_category_description(text, text);

DROP FUNCTION app_set_tag_description(text, text);
