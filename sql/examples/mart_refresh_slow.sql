-- The mart refresh with a pause between its DELETE and INSERT (no LOCK): overlapping runs
-- conflict as they would on Redshift (serializable isolation); rsbatch reruns the losers.
DELETE FROM public.mart_customer_summary;
SELECT pg_sleep(1);
INSERT INTO public.mart_customer_summary (customer_id, total_orders, total_amount, last_order_date, updated_at)
SELECT customer_id, COUNT(DISTINCT order_id), SUM(quantity * unit_price), MAX(order_date), CURRENT_TIMESTAMP
FROM orders
GROUP BY customer_id;
