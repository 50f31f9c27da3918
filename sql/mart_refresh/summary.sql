-- Pipeline mart_refresh, step 3 (after both marts): one row per run in the refresh log.
-- :run_id and :run_date are the pipeline's built-in parameters.
CREATE TABLE IF NOT EXISTS public.mart_refresh_log (
    run_id        VARCHAR(128)   NOT NULL,
    run_date      DATE           NOT NULL,
    customers     BIGINT         NOT NULL,
    days          BIGINT         NOT NULL,
    total_amount  DECIMAL(18,2),
    refreshed_at  TIMESTAMP
) DISTSTYLE ALL;
DELETE FROM public.mart_refresh_log WHERE run_id = :run_id;
INSERT INTO public.mart_refresh_log (run_id, run_date, customers, days, total_amount, refreshed_at)
SELECT :run_id, CAST(:run_date AS DATE), c.customers, d.days, c.total_amount, GETDATE()
FROM (SELECT COUNT(*) AS customers, SUM(total_amount) AS total_amount FROM public.mart_customer_summary) AS c
CROSS JOIN (SELECT COUNT(*) AS days FROM public.mart_daily_sales) AS d;
