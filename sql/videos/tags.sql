-- Tags and categories are shared by every user; the links to a video are the video owner's,
-- so every link query checks that the video belongs to the user.

-- name: create_tag_if_missing(name, description)!
-- Creates the tag named so, with its description, unless it exists (the application role may
-- add tags, never change one: no DO UPDATE; an existing tag keeps its description); 1 when
-- created, 0 when it existed. A tag a concurrent transaction is inserting makes this wait for
-- it: the next statement then sees it.
INSERT INTO tags (name, description)
VALUES (:name, :description)
ON CONFLICT (name) DO NOTHING;

-- name: update_tag_description(tag_id, description)$
-- Sets a shared tag's description through the administrators' path app_set_tag_description (20261207042943): true when found; an acting user who is not an administrator gets insufficient_privilege.
SELECT app_set_tag_description(:tag_id::text, :description::text) AS "found!";

-- name: create_video_summary_tag_by_name(video_summary_id, user_id, name)<!
-- The tag named so, linked to the user's video; nothing if the tag is missing (run
-- create_tag_if_missing first, as a statement of its own: its snapshot must see the tag) or
-- the video is not theirs.
WITH tag AS (
    SELECT id, name, description, created_at
    FROM tags
    WHERE name = :name
), video AS (
    SELECT id
    FROM video_summaries
    WHERE id = :video_summary_id AND user_id = :user_id
), link AS (
    INSERT INTO video_summary_tags (video_summary_id, tag_id)
    SELECT video.id, tag.id
    FROM video CROSS JOIN tag
    ON CONFLICT (video_summary_id, tag_id) DO NOTHING
)
SELECT tag.id, tag.name, tag.description, tag.created_at
FROM tag
WHERE EXISTS (SELECT 1 FROM video);

-- name: delete_video_summary_tag(video_summary_id, user_id, tag_id)!
-- How many tags were detached from the user's video (0 or 1); the tag itself stays.
DELETE FROM video_summary_tags AS vt
USING video_summaries AS v
WHERE v.id = vt.video_summary_id AND vt.video_summary_id = :video_summary_id
  AND v.user_id = :user_id AND vt.tag_id = :tag_id;

-- name: list_tags_by_video_summary(video_summary_id, user_id)
-- The tags of the user's video, by name (none if the video is not theirs); at most 100.
-- Capped, not paged: the user attaches each tag to the video by hand; a video's tags are few.
SELECT t.id, t.name, t.description, t.created_at
FROM video_summary_tags AS vt
JOIN video_summaries AS v ON v.id = vt.video_summary_id
JOIN tags AS t ON t.id = vt.tag_id
WHERE vt.video_summary_id = :video_summary_id AND v.user_id = :user_id
ORDER BY t.name
LIMIT 100;

-- name: create_category(name, description)<!
-- The new category.
INSERT INTO categories (name, description)
VALUES (:name, :description)
RETURNING id, name, description, created_at;

-- name: update_category_description(category_id, description)$
-- Sets a shared category's description through the administrators' path app_set_category_description (20261207042943): true when found; others get insufficient_privilege.
SELECT app_set_category_description(:category_id::text, :description::text) AS "found!";

-- name: list_categories(after_name, page_size)
-- One page of the categories, by name, strictly after after_name (NULL = the first page). The shared catalogue grows as categories are added (the application role may add one), so it is paged; a name is unique (categories_name_key), which is read in order.
SELECT id, name, description, created_at
FROM categories
WHERE name > coalesce(:after_name::text, '')
ORDER BY name
LIMIT :page_size::integer;

-- name: create_video_summary_category(video_summary_id, user_id, category_id)<!
-- video_found: whether the user's video exists; linked: whether a new link was made (false when already linked). An unknown category violates video_summary_categories_category_id_fkey.
WITH video AS (
    SELECT id
    FROM video_summaries
    WHERE id = :video_summary_id AND user_id = :user_id
), link AS (
    INSERT INTO video_summary_categories (video_summary_id, category_id)
    SELECT video.id, :category_id
    FROM video
    ON CONFLICT (video_summary_id, category_id) DO NOTHING
    RETURNING video_summary_id
)
SELECT EXISTS (SELECT 1 FROM video) AS video_found, EXISTS (SELECT 1 FROM link) AS linked;

-- name: delete_video_summary_category(video_summary_id, user_id, category_id)!
-- How many categories were detached from the user's video (0 or 1).
DELETE FROM video_summary_categories AS vc
USING video_summaries AS v
WHERE v.id = vc.video_summary_id AND vc.video_summary_id = :video_summary_id
  AND v.user_id = :user_id AND vc.category_id = :category_id;

-- name: list_categories_by_video_summary(video_summary_id, user_id)
-- The categories of the user's video, by name (none if the video is not theirs); at most 100.
-- Capped, not paged: the user puts the video in each category by hand; a video's are few.
SELECT c.id, c.name, c.description, c.created_at
FROM video_summary_categories AS vc
JOIN video_summaries AS v ON v.id = vc.video_summary_id
JOIN categories AS c ON c.id = vc.category_id
WHERE vc.video_summary_id = :video_summary_id AND v.user_id = :user_id
ORDER BY c.name
LIMIT 100;

-- name: list_tag_counts_by_user(user_id, limit)
-- The tags on the user's videos with how many of their videos have each, most used first (then by name), at most limit: a counted top-N.
SELECT t.id, t.name, count(*) AS video_count
FROM video_summaries AS v
JOIN video_summary_tags AS vt ON vt.video_summary_id = v.id
JOIN tags AS t ON t.id = vt.tag_id
WHERE v.user_id = :user_id
GROUP BY t.id, t.name
ORDER BY count(*) DESC, t.name
LIMIT :limit::integer;

-- name: update_video_summary_tags_relink(user_id, tag_id, new_name)<!
-- For one user, "renames" a tag: every video of theirs tagged tag_id is tagged new_name instead (the tag named so must exist: run create_tag_if_missing first, as its own statement); the shared tags rows are never renamed. Returns the new tag and how many videos were relinked; nothing if no tag has that name.
WITH new_tag AS (
    SELECT id, name FROM tags WHERE name = :new_name
), mine AS (
    SELECT vt.video_summary_id
    FROM video_summary_tags AS vt
    JOIN video_summaries AS v ON v.id = vt.video_summary_id
    WHERE v.user_id = :user_id AND vt.tag_id = :tag_id
), linked AS (
    INSERT INTO video_summary_tags (video_summary_id, tag_id)
    SELECT mine.video_summary_id, new_tag.id
    FROM mine CROSS JOIN new_tag
    ON CONFLICT (video_summary_id, tag_id) DO NOTHING
), unlinked AS (
    DELETE FROM video_summary_tags AS vt
    USING mine, new_tag
    WHERE vt.video_summary_id = mine.video_summary_id AND vt.tag_id = :tag_id
      AND new_tag.id <> :tag_id
    RETURNING vt.video_summary_id
)
SELECT new_tag.id, new_tag.name, (SELECT count(*) FROM mine) AS relinked_count
FROM new_tag;

-- name: delete_video_summary_tags_by_tag(user_id, tag_id)!
-- Drops the tag from every video of the user's; how many videos lost it. The shared tag stays.
DELETE FROM video_summary_tags AS vt
USING video_summaries AS v
WHERE v.id = vt.video_summary_id AND v.user_id = :user_id AND vt.tag_id = :tag_id;
