-- 0001_updated_at_trigger rollback: drop the shared updated_at trigger function.

DROP FUNCTION set_updated_at();
