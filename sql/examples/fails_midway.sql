-- A batch whose second statement fails (division by zero): in TRANSACTION mode nothing commits.
DELETE FROM public.mart_customer_summary;
SELECT 1 / 0;
INSERT INTO public.mart_customer_summary (customer_id, total_orders, total_amount) VALUES (-1, 0, 0);
