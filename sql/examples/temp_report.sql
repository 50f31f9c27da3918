-- Chain with a session, step 2: read the temp table of step 1 (needs --session-keep-alive).
SELECT COUNT(*) AS big_spenders, MIN(amount) AS smallest FROM big_spenders;
