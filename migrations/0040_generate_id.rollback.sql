-- 0040_generate_id rollback: drop the id generator.

DROP FUNCTION generate_id();
