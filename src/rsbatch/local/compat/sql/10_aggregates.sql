-- Redshift's aggregate typing, as aggregates in schema redshift (which the search_path puts
-- before pg_catalog, so an aggregate here with the same argument type wins). Aggregates
-- also work as window functions (OVER), and in HAVING / subqueries, with no extra code.
--
-- Sources (Amazon Redshift Database Developer Guide):
--   AVG     https://docs.aws.amazon.com/redshift/latest/dg/r_AVG.html
--           BIGINT for any integer argument; DOUBLE PRECISION for floating point; otherwise
--           the argument's type: AVG of DEC(5,2) is DEC(38,2) (the argument's scale).
--   SUM     https://docs.aws.amazon.com/redshift/latest/dg/r_SUM.html
--           BIGINT for SMALLINT/INTEGER/BIGINT; NUMERIC (argument's scale) for NUMERIC;
--           DOUBLE PRECISION for floating point.
--   MEDIAN  https://docs.aws.amazon.com/redshift/latest/dg/r_MEDIAN.html
--           DECIMAL for INT2/INT4/INT8/NUMERIC, DOUBLE for FLOAT/DOUBLE, DATE, TIMESTAMP(TZ).
--   STDDEV / VARIANCE
--           https://docs.aws.amazon.com/redshift/latest/dg/r_STDDEV_functions.html
--           https://docs.aws.amazon.com/redshift/latest/dg/r_VARIANCE_functions.html
--           DOUBLE PRECISION whatever the argument's type.
--
-- PostgreSQL differs: AVG(int) is NUMERIC with ~16 decimals, SUM(bigint) is NUMERIC,
-- SUM(real) is REAL, STDDEV/VARIANCE of integers and numerics are NUMERIC, and there is no
-- MEDIAN.

-- -- AVG over integers: BIGINT, the quotient truncated toward zero ------------------------
-- The state is PostgreSQL's own {count, sum} int8 array for int2/int4 (its accumulate,
-- inverse and combine functions are reused, so moving windows stay O(1) per row).

CREATE OR REPLACE FUNCTION redshift._avg_int_final(state bigint[]) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN state[1] = 0 THEN NULL ELSE trunc(state[2]::numeric / state[1])::bigint END;

CREATE OR REPLACE AGGREGATE redshift.avg(smallint) (
    SFUNC = pg_catalog.int2_avg_accum, STYPE = bigint[], INITCOND = '{0,0}',
    FINALFUNC = redshift._avg_int_final, COMBINEFUNC = pg_catalog.int4_avg_combine,
    MSFUNC = pg_catalog.int2_avg_accum, MINVFUNC = pg_catalog.int2_avg_accum_inv,
    MSTYPE = bigint[], MINITCOND = '{0,0}', MFINALFUNC = redshift._avg_int_final,
    PARALLEL = SAFE
);

CREATE OR REPLACE AGGREGATE redshift.avg(integer) (
    SFUNC = pg_catalog.int4_avg_accum, STYPE = bigint[], INITCOND = '{0,0}',
    FINALFUNC = redshift._avg_int_final, COMBINEFUNC = pg_catalog.int4_avg_combine,
    MSFUNC = pg_catalog.int4_avg_accum, MINVFUNC = pg_catalog.int4_avg_accum_inv,
    MSTYPE = bigint[], MINITCOND = '{0,0}', MFINALFUNC = redshift._avg_int_final,
    PARALLEL = SAFE
);

-- -- AVG over BIGINT and NUMERIC: state {count, sum, largest scale seen} ----------------
-- The result keeps the argument's scale (a DEC(p,s) column's values all carry scale s);
-- digits past it are truncated, as Redshift's integer AVG truncates (the guide does not
-- say how the decimal case drops them).

CREATE OR REPLACE FUNCTION redshift._avg_num_accum(state numeric[], x numeric) RETURNS numeric[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY[state[1] + 1, state[2] + x, greatest(state[3], scale(x))];

CREATE OR REPLACE FUNCTION redshift._avg_num_inverse(state numeric[], x numeric) RETURNS numeric[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY[state[1] - 1, state[2] - x, state[3]];

CREATE OR REPLACE FUNCTION redshift._avg_num_combine(a numeric[], b numeric[]) RETURNS numeric[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY[a[1] + b[1], a[2] + b[2], greatest(a[3], b[3])];

CREATE OR REPLACE FUNCTION redshift._avg_num_final(state numeric[]) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN state[1] = 0 THEN NULL
            ELSE trunc(state[2] / state[1], state[3]::integer) END;

CREATE OR REPLACE FUNCTION redshift._avg_bigint_final(state numeric[]) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN state[1] = 0 THEN NULL ELSE trunc(state[2] / state[1])::bigint END;

CREATE OR REPLACE FUNCTION redshift._avg_bigint_accum(state numeric[], x bigint) RETURNS numeric[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY[state[1] + 1, state[2] + x, 0];

CREATE OR REPLACE FUNCTION redshift._avg_bigint_inverse(state numeric[], x bigint) RETURNS numeric[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY[state[1] - 1, state[2] - x, 0];

CREATE OR REPLACE AGGREGATE redshift.avg(bigint) (
    SFUNC = redshift._avg_bigint_accum, STYPE = numeric[], INITCOND = '{0,0,0}',
    FINALFUNC = redshift._avg_bigint_final, COMBINEFUNC = redshift._avg_num_combine,
    MSFUNC = redshift._avg_bigint_accum, MINVFUNC = redshift._avg_bigint_inverse,
    MSTYPE = numeric[], MINITCOND = '{0,0,0}', MFINALFUNC = redshift._avg_bigint_final,
    PARALLEL = SAFE
);

CREATE OR REPLACE AGGREGATE redshift.avg(numeric) (
    SFUNC = redshift._avg_num_accum, STYPE = numeric[], INITCOND = '{0,0,0}',
    FINALFUNC = redshift._avg_num_final, COMBINEFUNC = redshift._avg_num_combine,
    MSFUNC = redshift._avg_num_accum, MINVFUNC = redshift._avg_num_inverse,
    MSTYPE = numeric[], MINITCOND = '{0,0,0}', MFINALFUNC = redshift._avg_num_final,
    PARALLEL = SAFE
);
-- AVG(real) and AVG(double precision) are DOUBLE PRECISION in PostgreSQL already.

-- -- SUM(bigint) is BIGINT (an overflow is an error, as in Redshift), SUM(real) DOUBLE ----

CREATE OR REPLACE AGGREGATE redshift.sum(bigint) (
    SFUNC = pg_catalog.int8pl, STYPE = bigint, COMBINEFUNC = pg_catalog.int8pl,
    MSFUNC = pg_catalog.int8pl, MINVFUNC = pg_catalog.int8mi, MSTYPE = bigint,
    PARALLEL = SAFE
);

CREATE OR REPLACE FUNCTION redshift._sum_real_accum(state double precision, x real)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN x IS NULL THEN state ELSE coalesce(state, 0) + x END;

CREATE OR REPLACE AGGREGATE redshift.sum(real) (
    SFUNC = redshift._sum_real_accum, STYPE = double precision,
    COMBINEFUNC = pg_catalog.float8pl, PARALLEL = SAFE
);

-- -- STDDEV / VARIANCE of integers and numerics: DOUBLE PRECISION --------------------------
-- PostgreSQL's float8 accumulators do the arithmetic; one thin cast wrapper per input type
-- (an aggregate's transition function must take its argument type exactly).

DO $compat$
DECLARE
    input text;
    agg record;
BEGIN
    FOREACH input IN ARRAY ARRAY['smallint', 'integer', 'bigint', 'numeric'] LOOP
        EXECUTE format(
            'CREATE OR REPLACE FUNCTION redshift._float8_accum(state double precision[], x %s) '
            'RETURNS double precision[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE '
            'RETURN pg_catalog.float8_accum(state, x::double precision)', input);
        FOR agg IN SELECT * FROM (VALUES
            ('stddev', 'float8_stddev_samp'), ('stddev_samp', 'float8_stddev_samp'),
            ('stddev_pop', 'float8_stddev_pop'), ('variance', 'float8_var_samp'),
            ('var_samp', 'float8_var_samp'), ('var_pop', 'float8_var_pop')) AS a(name, final)
        LOOP
            EXECUTE format(
                'CREATE OR REPLACE AGGREGATE redshift.%I(%s) (SFUNC = redshift._float8_accum, '
                'STYPE = double precision[], INITCOND = ''{0,0,0}'', FINALFUNC = pg_catalog.%I, '
                'COMBINEFUNC = pg_catalog.float8_combine, PARALLEL = SAFE)',
                agg.name, input, agg.final);
        END LOOP;
    END LOOP;
END
$compat$;

-- -- MEDIAN ----------------------------------------------------------------------------------
-- Numbers: DECIMAL; the middle value, or the mean of the two middle values, at the
-- argument's scale + 1 (exact: a mean of two values of scale s needs one more digit). The
-- guide's window example prints integer medians as 10.0 and 17.5.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_WF_MEDIAN.html

CREATE OR REPLACE FUNCTION redshift._median_numeric_final(state numeric[]) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH v AS (SELECT x, row_number() OVER (ORDER BY x) AS i, count(*) OVER () AS n
               FROM unnest(state) AS u(x) WHERE x IS NOT NULL)
    SELECT round(avg(x), max(scale(x)) + 1) FROM v
    WHERE i IN ((n + 1) / 2, (n + 2) / 2);
END;

CREATE OR REPLACE FUNCTION redshift._median_float_final(state double precision[])
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(state) AS u(x);
END;

CREATE OR REPLACE FUNCTION redshift._median_timestamp_final(state timestamp[]) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH v AS (SELECT x, row_number() OVER (ORDER BY x) AS i, count(*) OVER () AS n
               FROM unnest(state) AS u(x) WHERE x IS NOT NULL)
    SELECT min(x) + (max(x) - min(x)) / 2 FROM v WHERE i IN ((n + 1) / 2, (n + 2) / 2);
END;

CREATE OR REPLACE FUNCTION redshift._median_timestamptz_final(state timestamptz[])
RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH v AS (SELECT x, row_number() OVER (ORDER BY x) AS i, count(*) OVER () AS n
               FROM unnest(state) AS u(x) WHERE x IS NOT NULL)
    SELECT min(x) + (max(x) - min(x)) / 2 FROM v WHERE i IN ((n + 1) / 2, (n + 2) / 2);
END;

CREATE OR REPLACE FUNCTION redshift._median_date_final(state date[]) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH v AS (SELECT x, row_number() OVER (ORDER BY x) AS i, count(*) OVER () AS n
               FROM unnest(state) AS u(x) WHERE x IS NOT NULL)
    SELECT min(x) + (max(x) - min(x)) / 2 FROM v WHERE i IN ((n + 1) / 2, (n + 2) / 2);
END;

DO $compat$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT * FROM (VALUES
        ('smallint', 'numeric', '_median_numeric_final'),
        ('integer', 'numeric', '_median_numeric_final'),
        ('bigint', 'numeric', '_median_numeric_final'),
        ('numeric', 'numeric', '_median_numeric_final'),
        ('real', 'double precision', '_median_float_final'),
        ('double precision', 'double precision', '_median_float_final'),
        ('date', 'date', '_median_date_final'),
        ('timestamp', 'timestamp', '_median_timestamp_final'),
        ('timestamptz', 'timestamptz', '_median_timestamptz_final')) AS t(input, element, final)
    LOOP
        EXECUTE format(
            'CREATE OR REPLACE FUNCTION redshift._median_accum(state %2$s[], x %1$s) '
            'RETURNS %2$s[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE '
            'RETURN state || x::%2$s', m.input, m.element);
        EXECUTE format(
            'CREATE OR REPLACE AGGREGATE redshift.median(%s) (SFUNC = redshift._median_accum, '
            'STYPE = %s[], INITCOND = ''{}'', FINALFUNC = redshift.%I, '
            'COMBINEFUNC = pg_catalog.array_cat, PARALLEL = SAFE)',
            m.input, m.element, m.final);
    END LOOP;
END
$compat$;
