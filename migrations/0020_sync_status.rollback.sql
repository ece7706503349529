-- 0020_sync_status rollback: drop the sync_status enum.

DROP TYPE sync_status;
