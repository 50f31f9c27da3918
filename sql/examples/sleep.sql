-- A long statement for rehearsals (cancel, reconcile): sleeps for :seconds, default via --param.
SELECT pg_sleep(30);
