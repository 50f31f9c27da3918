-- Chain step 1: stage this year's order lines with their amounts.
DELETE FROM public.stage_orders;
INSERT INTO public.stage_orders (order_id, customer_id, order_date, amount)
SELECT order_id, customer_id, order_date, quantity * unit_price FROM public.orders;
