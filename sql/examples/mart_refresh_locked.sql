-- The mart refresh for concurrent runs: LOCK serialises refreshes of the same mart,
-- as Redshift recommends, so two runs never interleave their DELETE and INSERT.
LOCK public.mart_customer_summary;
DELETE FROM public.mart_customer_summary;
INSERT INTO public.mart_customer_summary (customer_id, total_orders, total_amount, last_order_date, updated_at)
SELECT customer_id, COUNT(DISTINCT order_id), SUM(quantity * unit_price), MAX(order_date), CURRENT_TIMESTAMP
FROM orders
GROUP BY customer_id;
