-- 0021_deployment_status rollback: drop the deployment_status enum.

DROP TYPE deployment_status;
