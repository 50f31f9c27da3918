-- Stand-ins for the Redshift system views scripts commonly read, built from PostgreSQL's
-- catalogs, with the columns (names and types) the Developer Guide documents. What
-- PostgreSQL does not know (encodings, distribution and sort keys, slices) has Redshift's
-- value for "none": the SQL shim drops DISTKEY / SORTKEY / ENCODE before PostgreSQL sees
-- them.

-- PG_TABLE_DEF: one row per column of the user tables visible on the search_path.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_PG_TABLE_DEF.html
CREATE OR REPLACE VIEW redshift.pg_table_def AS
SELECT n.nspname AS schemaname,
       c.relname AS tablename,
       a.attname AS "column",
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       'none'::character(32) AS encoding,
       false AS distkey,
       0 AS sortkey,
       a.attnotnull AS "notnull"
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'redshift')
  AND n.nspname NOT LIKE 'pg\_%'
  AND pg_catalog.pg_table_is_visible(c.oid);

-- The exact row count of a table (SVV_TABLE_INFO's tbl_rows); a local table is small.
CREATE OR REPLACE FUNCTION redshift._table_rows(rel regclass) RETURNS numeric
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE AS $$
DECLARE
    n numeric;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', rel) INTO n;
    RETURN n;
END
$$;

-- SVV_TABLE_INFO: user tables with at least one row (the guide: "doesn't return any
-- information for empty tables"); size in 1 MB blocks.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html
CREATE OR REPLACE VIEW redshift.svv_table_info AS
SELECT database, schema, table_id, "table", encoded, diststyle, sortkey1, max_varchar,
       sortkey1_enc, sortkey_num, size, pct_used, empty, unsorted, stats_off, tbl_rows,
       skew_sortkey1, skew_rows, tbl_rows AS estimated_visible_rows, risk_event,
       vacuum_sort_benefit, create_time
FROM (
    SELECT current_database()::text AS database,
           n.nspname::text AS schema,
           c.oid AS table_id,
           c.relname::text AS "table",
           'N'::text AS encoded,
           'AUTO(EVEN)'::text AS diststyle,
           NULL::text AS sortkey1,
           (SELECT max(a.atttypmod - 4) FROM pg_catalog.pg_attribute AS a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               AND a.atttypid = 'pg_catalog.varchar'::regtype AND a.atttypmod > 4)::integer
             AS max_varchar,
           NULL::character(32) AS sortkey1_enc,
           0 AS sortkey_num,
           ceil(pg_catalog.pg_total_relation_size(c.oid) / 1048576.0)::bigint AS size,
           NULL::numeric(10, 4) AS pct_used,
           0::bigint AS empty,
           NULL::numeric(5, 2) AS unsorted,
           0::numeric(5, 2) AS stats_off,
           redshift._table_rows(c.oid)::numeric(38, 0) AS tbl_rows,
           NULL::numeric(19, 2) AS skew_sortkey1,
           NULL::numeric(19, 2) AS skew_rows,
           NULL::text AS risk_event,
           NULL::numeric(12, 2) AS vacuum_sort_benefit,
           NULL::timestamp AS create_time
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'redshift', 'pg_toast')
      AND n.nspname NOT LIKE 'pg\_temp%' AND n.nspname NOT LIKE 'pg\_toast%'
) AS t
WHERE tbl_rows > 0;

-- STL_LOAD_ERRORS: COPY's load errors. The local warehouse never loads from S3 (the shim
-- refuses COPY FROM 's3://…'), so the view is always empty; scripts that read it work.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_ERRORS.html
CREATE OR REPLACE VIEW redshift.stl_load_errors AS
SELECT NULL::integer AS userid,
       NULL::integer AS slice,
       NULL::integer AS tbl,
       NULL::timestamp AS starttime,
       NULL::integer AS session,
       NULL::integer AS query,
       NULL::character(256) AS filename,
       NULL::bigint AS line_number,
       NULL::character(127) AS colname,
       NULL::character(10) AS type,
       NULL::character(10) AS col_length,
       NULL::integer AS position,
       NULL::character(1024) AS raw_line,
       NULL::character(1024) AS raw_field_value,
       NULL::integer AS err_code,
       NULL::character(100) AS err_reason
WHERE false;

-- SVV_COLUMNS: the columns of local tables and views (PostgreSQL's information_schema,
-- typed as the guide documents: text and int).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_COLUMNS.html
CREATE OR REPLACE VIEW redshift.svv_columns AS
SELECT c.table_catalog::text AS table_catalog,
       c.table_schema::text AS table_schema,
       c.table_name::text AS table_name,
       c.column_name::text AS column_name,
       c.ordinal_position::integer AS ordinal_position,
       c.column_default::text AS column_default,
       c.is_nullable::text AS is_nullable,
       c.data_type::text AS data_type,
       c.character_maximum_length::integer AS character_maximum_length,
       c.numeric_precision::integer AS numeric_precision,
       c.numeric_precision_radix::integer AS numeric_precision_radix,
       c.numeric_scale::integer AS numeric_scale,
       c.datetime_precision::integer AS datetime_precision,
       c.interval_type::text AS interval_type,
       c.interval_precision::text AS interval_precision,
       c.character_set_catalog::text AS character_set_catalog,
       c.character_set_schema::text AS character_set_schema,
       c.character_set_name::text AS character_set_name,
       c.collation_catalog::text AS collation_catalog,
       c.collation_schema::text AS collation_schema,
       c.collation_name::text AS collation_name,
       c.domain_name::text AS domain_name,
       pg_catalog.col_description(
           pg_catalog.format('%I.%I', c.table_schema, c.table_name)::regclass,
           c.ordinal_position::integer) AS remarks
FROM information_schema.columns AS c
WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema', 'redshift')
  AND c.table_schema NOT LIKE 'pg\_%';
