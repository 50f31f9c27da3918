-- A long statement for rehearsals (cancel, manual callbacks): runs for two minutes on the local stack.
SELECT pg_sleep(120);
