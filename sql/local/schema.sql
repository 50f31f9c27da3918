-- Demo schema for the local stack (Redshift syntax; the dialect shim drops DISTKEY/SORTKEY).
CREATE TABLE IF NOT EXISTS public.orders (
    order_id     BIGINT        NOT NULL,
    customer_id  INTEGER       NOT NULL,
    order_date   DATE          NOT NULL,
    product_id   INTEGER       NOT NULL,
    quantity     INTEGER       NOT NULL,
    unit_price   DECIMAL(10,2) NOT NULL
) DISTKEY(customer_id) SORTKEY(order_date);

CREATE TABLE IF NOT EXISTS public.mart_customer_summary (
    customer_id      INTEGER        NOT NULL,
    total_orders     BIGINT         NOT NULL,
    total_amount     DECIMAL(18,2)  NOT NULL,
    last_order_date  DATE,
    updated_at       TIMESTAMP
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS public.stage_orders (
    order_id     BIGINT        NOT NULL,
    customer_id  INTEGER       NOT NULL,
    order_date   DATE          NOT NULL,
    amount       DECIMAL(12,2) NOT NULL
) DISTKEY(customer_id);
