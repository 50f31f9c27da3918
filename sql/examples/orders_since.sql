-- Top customers since a date: `--param since=2026-11-01`. The value is bound by Redshift.
SELECT customer_id, SUM(quantity * unit_price) AS amount, COUNT(DISTINCT order_id) AS orders
FROM public.orders
WHERE order_date >= CAST(:since AS DATE)
GROUP BY customer_id
ORDER BY amount DESC, customer_id
LIMIT 20;
