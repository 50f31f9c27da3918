-- Chain with a session, step 1: stage big spenders in a temp table (gone when the session ends).
CREATE TEMP TABLE big_spenders AS
SELECT customer_id, SUM(quantity * unit_price) AS amount
FROM public.orders
GROUP BY customer_id
HAVING SUM(quantity * unit_price) > 2500;
