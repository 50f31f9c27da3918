-- Mart refresh from the seed article: rebuild the customer summary from orders.
DELETE FROM public.mart_customer_summary;
INSERT INTO public.mart_customer_summary (
    customer_id,
    total_orders,
    total_amount,
    last_order_date,
    updated_at
)
SELECT
    customer_id,
    COUNT(DISTINCT order_id) AS total_orders,
    SUM(quantity * unit_price) AS total_amount,
    MAX(order_date) AS last_order_date,
    CURRENT_TIMESTAMP AS updated_at
FROM
    orders
GROUP BY
    customer_id;
