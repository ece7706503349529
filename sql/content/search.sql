-- name: list_search_results(workspace_id, query, limit)
-- Nodes of the workspace matching the web-search style query, best first (ts_rank over the
-- title-weighted search_vector), each with an html snippet: the node's text, tags stripped,
-- matches wrapped in <mark>. The search path app_search_nodes (20261207061113) finds their
-- uuids from the full-text index (under row-level security @@ cannot be an index condition);
-- their rows are read here through the policy and ranked again; ts_headline runs only on the
-- rows kept by LIMIT.
WITH q AS (
    SELECT websearch_to_tsquery('english', :query::text) AS query
)
SELECT n.uuid, n.parent_uuid, n.page_name, n.slug, n.title,
       ts_rank(n.search_vector, q.query) AS "rank!",  -- never NULL: the path matched both
       ts_headline(
           'english',
           btrim(regexp_replace(
               n.title || ' ' || regexp_replace(coalesce(n.html, ''), '<[^>]*>', ' ', 'g'),
               '\s+', ' ', 'g')),
           q.query,
           'StartSel=<mark>, StopSel=</mark>, MinWords=8, MaxWords=30, MaxFragments=2'
       ) AS "snippet!"  -- never NULL: built from title (NOT NULL), coalesce(html) and q.query
FROM nodes AS n
CROSS JOIN q
WHERE n.workspace_id = :workspace_id
  AND n.uuid = any(ARRAY(
      SELECT app_search_nodes(:workspace_id::bigint, :query::text, :limit::integer)))
ORDER BY rank DESC, n.page_name, n.position, n.uuid
LIMIT :limit;
