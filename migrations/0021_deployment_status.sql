-- 0021_deployment_status: the state of one deployment (deployment_history.status).
-- pending -> building -> success | failed; success and failed are final.

CREATE TYPE deployment_status AS ENUM ('pending', 'building', 'success', 'failed');

COMMENT ON TYPE deployment_status IS 'State of a deployment: pending, building, then success or failed (final).';
