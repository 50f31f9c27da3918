-- Ten seconds of work: longer than a short statement_timeout (guard rehearsals).
SELECT pg_sleep(10);
