-- 0023_nodes rollback: drop the nodes table (its indexes, constraints and trigger go with it),
-- then the two functions it uses.

DROP TABLE nodes;

DROP FUNCTION node_linked_pages(text);

DROP FUNCTION node_uuid(text);
