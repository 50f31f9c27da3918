-- A long statement for rehearsals (cancel, manual callbacks): runs for 20 seconds on the local stack.
SELECT pg_sleep(20);
