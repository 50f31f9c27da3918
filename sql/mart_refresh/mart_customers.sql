-- Pipeline mart_refresh, step 2a (beside 2b): the seed's customer summary, from the staged lines.
DELETE FROM public.mart_customer_summary;
INSERT INTO public.mart_customer_summary (customer_id, total_orders, total_amount, last_order_date, updated_at)
SELECT customer_id, COUNT(DISTINCT order_id), SUM(amount), MAX(order_date), GETDATE()
FROM public.stage_orders
GROUP BY customer_id;
