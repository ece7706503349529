-- 0001_updated_at_trigger: the one shared trigger function that maintains updated_at.
-- Every table with an updated_at column gets a BEFORE UPDATE trigger calling it, so every
-- writer (services, scripts, psql) keeps the column right; no Python code sets updated_at.

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION set_updated_at() IS
    'BEFORE UPDATE trigger function: sets NEW.updated_at to the transaction time.';
