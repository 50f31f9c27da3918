-- Pipeline mart_refresh, step 2b (beside 2a): sales per day, from the staged lines.
CREATE TABLE IF NOT EXISTS public.mart_daily_sales (
    order_date  DATE           NOT NULL,
    orders      BIGINT         NOT NULL,
    customers   BIGINT         NOT NULL,
    amount      DECIMAL(18,2)  NOT NULL,
    updated_at  TIMESTAMP
) DISTSTYLE ALL SORTKEY(order_date);
DELETE FROM public.mart_daily_sales;
INSERT INTO public.mart_daily_sales (order_date, orders, customers, amount, updated_at)
SELECT order_date, COUNT(DISTINCT order_id), COUNT(DISTINCT customer_id), SUM(amount), GETDATE()
FROM public.stage_orders
GROUP BY order_date;
