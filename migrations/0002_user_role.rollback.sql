-- 0002_user_role rollback: drop the user_role enum.

DROP TYPE user_role;
