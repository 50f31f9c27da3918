-- Orders of one customer, by a text parameter: `--param customer=42`.
SELECT COUNT(*) AS orders FROM public.orders WHERE CAST(customer_id AS VARCHAR) = :customer;
