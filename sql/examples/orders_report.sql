-- A report in three result sets: `--results all` keeps each one (statements 1, 3 and 4).
SELECT COUNT(*) AS orders, COUNT(DISTINCT customer_id) AS customers FROM public.orders;
CREATE TEMP TABLE top_customers AS
SELECT customer_id, SUM(quantity * unit_price) AS amount
FROM public.orders
GROUP BY customer_id
ORDER BY amount DESC, customer_id
LIMIT 3;
SELECT customer_id, amount FROM top_customers ORDER BY amount DESC, customer_id;
SELECT 'top 3, by amount' AS note, NULL AS missing;
