-- Demo data: 5,000 order lines from 200 customers over 2026, deterministic (no random()).
INSERT INTO public.orders (order_id, customer_id, order_date, product_id, quantity, unit_price)
SELECT
    1000 + (g / 2)                                   AS order_id,
    1 + ((g * 7919) % 200)                           AS customer_id,
    DATE '2026-01-01' + ((g * 37) % 330)             AS order_date,
    1 + ((g * 131) % 50)                             AS product_id,
    1 + (g % 5)                                      AS quantity,
    ROUND(((g * 2654435761) % 20000) / 100.0 + 1, 2) AS unit_price
FROM generate_series(0, 4999) AS g
WHERE NOT EXISTS (SELECT 1 FROM public.orders);
