-- A statement that takes a couple of seconds on the local stack (reconcile rehearsals).
SELECT pg_sleep(2);
