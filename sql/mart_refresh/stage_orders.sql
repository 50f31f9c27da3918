-- Pipeline mart_refresh, step 1: stage the order lines since :since with their amounts.
DELETE FROM public.stage_orders;
INSERT INTO public.stage_orders (order_id, customer_id, order_date, amount)
SELECT order_id, customer_id, order_date, quantity * unit_price
FROM public.orders
WHERE order_date >= CAST(:since AS DATE);
