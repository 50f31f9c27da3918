-- One second of work: many of these at once fill a warehouse's quota of active statements.
SELECT pg_sleep(1);
