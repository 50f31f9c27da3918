-- Maintenance that cannot run inside a transaction: run it with --auto-commit.
VACUUM public.orders;
ANALYZE public.orders;
