-- Three statements, the middle one sleeps three seconds: watch `rsbatch run` count them (live progress).
SELECT 1 AS warm_up;
SELECT pg_sleep(3);
SELECT 2 AS done;
