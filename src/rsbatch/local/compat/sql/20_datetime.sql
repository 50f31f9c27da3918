-- Redshift's date and time functions with Redshift's edge rules.
-- Each function names the Developer Guide page it follows.

-- Redshift's datepart names and abbreviations -> PostgreSQL's field names.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_Dateparts_for_datetime_functions.html
CREATE OR REPLACE FUNCTION redshift._datepart(part text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    p text := lower(btrim(part, ' "'''));
BEGIN
    RETURN CASE
        WHEN p IN ('millennium', 'millennia', 'mil', 'mils') THEN 'millennium'
        WHEN p IN ('century', 'centuries', 'c', 'cent', 'cents') THEN 'century'
        WHEN p IN ('decade', 'decades', 'dec', 'decs') THEN 'decade'
        WHEN p IN ('epoch') THEN 'epoch'
        WHEN p IN ('year', 'years', 'y', 'yr', 'yrs') THEN 'year'
        WHEN p IN ('quarter', 'quarters', 'qtr', 'qtrs') THEN 'quarter'
        WHEN p IN ('month', 'months', 'mon', 'mons') THEN 'month'
        WHEN p IN ('week', 'weeks', 'w') THEN 'week'
        WHEN p IN ('dayofweek', 'dow', 'dw', 'weekday') THEN 'dow'
        WHEN p IN ('dayofyear', 'doy', 'dy', 'yday') THEN 'doy'
        WHEN p IN ('day', 'days', 'd') THEN 'day'
        WHEN p IN ('hour', 'hours', 'h', 'hr', 'hrs') THEN 'hour'
        WHEN p IN ('minute', 'minutes', 'm', 'min', 'mins') THEN 'minute'
        WHEN p IN ('second', 'seconds', 's', 'sec', 'secs') THEN 'second'
        WHEN p IN ('millisecond', 'milliseconds', 'ms', 'msec', 'msecs', 'msecond',
                   'mseconds', 'millisec', 'millisecs', 'millisecon') THEN 'milliseconds'
        WHEN p IN ('microsecond', 'microseconds', 'microsec', 'microsecs', 'usecond',
                   'useconds', 'us', 'usec', 'usecs') THEN 'microseconds'
        WHEN p IN ('timezone', 'timezone_hour', 'timezone_minute') THEN p
        ELSE NULL
    END;
END
$$;

CREATE OR REPLACE FUNCTION redshift._datepart_strict(part text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    canonical text := redshift._datepart(part);
BEGIN
    IF canonical IS NULL THEN
        RAISE EXCEPTION 'Invalid datepart: %', part USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN canonical;
END
$$;

-- DATE_PART with Redshift's datepart names (also on TIME and INTERVAL); DOUBLE PRECISION.
-- A name Redshift does not know goes to PostgreSQL as written (isodow, julian …), so
-- SQL that was valid PostgreSQL keeps working.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_PART_function.html
CREATE OR REPLACE FUNCTION redshift.date_part(part text, ts timestamp) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.date_part(coalesce(redshift._datepart(part), part), ts);

CREATE OR REPLACE FUNCTION redshift.date_part(part text, ts timestamptz) RETURNS double precision
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN pg_catalog.date_part(coalesce(redshift._datepart(part), part), ts);

CREATE OR REPLACE FUNCTION redshift.date_part(part text, t time) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.date_part(coalesce(redshift._datepart(part), part), t);

CREATE OR REPLACE FUNCTION redshift.date_part(part text, t timetz) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.date_part(coalesce(redshift._datepart(part), part), t);

CREATE OR REPLACE FUNCTION redshift.date_part(part text, i interval) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.date_part(coalesce(redshift._datepart(part), part), i);

-- DATEDIFF counts the datepart boundaries crossed between two values; BIGINT.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DATEDIFF_function.html
CREATE OR REPLACE FUNCTION redshift.datediff(part text, t1 timestamp, t2 timestamp) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    p text := redshift._datepart_strict(part);
BEGIN
    RETURN CASE p
        WHEN 'millennium' THEN extract(millennium FROM t2) - extract(millennium FROM t1)
        WHEN 'century' THEN extract(century FROM t2) - extract(century FROM t1)
        WHEN 'decade' THEN extract(decade FROM t2) - extract(decade FROM t1)
        WHEN 'year' THEN extract(year FROM t2) - extract(year FROM t1)
        WHEN 'quarter' THEN (extract(year FROM t2) * 4 + extract(quarter FROM t2))
                          - (extract(year FROM t1) * 4 + extract(quarter FROM t1))
        WHEN 'month' THEN (extract(year FROM t2) * 12 + extract(month FROM t2))
                        - (extract(year FROM t1) * 12 + extract(month FROM t1))
        WHEN 'week' THEN (date_trunc('week', t2)::date - date_trunc('week', t1)::date) / 7
        WHEN 'day' THEN t2::date - t1::date
        WHEN 'hour' THEN extract(epoch FROM date_trunc('hour', t2) - date_trunc('hour', t1)) / 3600
        WHEN 'minute' THEN extract(epoch FROM date_trunc('minute', t2) - date_trunc('minute', t1)) / 60
        WHEN 'second' THEN extract(epoch FROM date_trunc('second', t2) - date_trunc('second', t1))
        WHEN 'milliseconds' THEN extract(epoch FROM date_trunc('milliseconds', t2)
                                                 - date_trunc('milliseconds', t1)) * 1000
        WHEN 'microseconds' THEN extract(epoch FROM t2 - t1) * 1000000
        ELSE NULL
    END;
END
$$;

CREATE OR REPLACE FUNCTION redshift.datediff(part text, t1 timestamptz, t2 timestamptz) RETURNS bigint
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN redshift.datediff(part, t1::timestamp, t2::timestamp);

CREATE OR REPLACE FUNCTION redshift.datediff(part text, t1 time, t2 time) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN redshift.datediff(part, '2000-01-01'::date + t1, '2000-01-01'::date + t2);

-- String literals are timestamps, as Redshift reads them (without this overload PostgreSQL
-- would resolve an unknown literal to TIMESTAMPTZ, its preferred date/time type).
CREATE OR REPLACE FUNCTION redshift.datediff(part text, t1 text, t2 text) RETURNS bigint
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN redshift.datediff(part, t1::timestamp, t2::timestamp);

-- DATEADD: TIMESTAMP for a date or timestamp, TIME for a time. Month ends clamp
-- (DATEADD(month, 1, '2008-01-31') is 2008-02-29), unlike ADD_MONTHS' last-day rule.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DATEADD_function.html
CREATE OR REPLACE FUNCTION redshift._datepart_interval(part text) RETURNS interval
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    p text := redshift._datepart_strict(part);
BEGIN
    RETURN CASE p
        WHEN 'millennium' THEN interval '1000 years'
        WHEN 'century' THEN interval '100 years'
        WHEN 'decade' THEN interval '10 years'
        WHEN 'year' THEN interval '1 year'
        WHEN 'quarter' THEN interval '3 months'
        WHEN 'month' THEN interval '1 month'
        WHEN 'week' THEN interval '7 days'
        WHEN 'day' THEN interval '1 day'
        WHEN 'hour' THEN interval '1 hour'
        WHEN 'minute' THEN interval '1 minute'
        WHEN 'second' THEN interval '1 second'
        WHEN 'milliseconds' THEN interval '1 millisecond'
        WHEN 'microseconds' THEN interval '1 microsecond'
    END;
END
$$;

CREATE OR REPLACE FUNCTION redshift.dateadd(part text, n bigint, ts timestamp) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ts + n * redshift._datepart_interval(part);

CREATE OR REPLACE FUNCTION redshift.dateadd(part text, n bigint, ts timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN ts + n * redshift._datepart_interval(part);

CREATE OR REPLACE FUNCTION redshift.dateadd(part text, n bigint, t time) RETURNS time
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN t + n * redshift._datepart_interval(part);

-- A DATE is a TIMESTAMP to Redshift (without these, PostgreSQL would pick the TIMESTAMPTZ
-- overloads, its preferred cast from DATE, and answer with a time zone).
CREATE OR REPLACE FUNCTION redshift.dateadd(part text, n bigint, d date) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN d::timestamp + n * redshift._datepart_interval(part);

CREATE OR REPLACE FUNCTION redshift.datediff(part text, t1 date, t2 date) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN redshift.datediff(part, t1::timestamp, t2::timestamp);

CREATE OR REPLACE FUNCTION redshift.dateadd(part text, n bigint, ts text) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN ts::timestamp + n * redshift._datepart_interval(part);

-- TRUNC(timestamp) is the DATE of the timestamp.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNC_date.html
CREATE OR REPLACE FUNCTION redshift.trunc(ts timestamp) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ts::date;

CREATE OR REPLACE FUNCTION redshift.trunc(ts timestamptz) RETURNS date
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN ts::date;

-- ADD_MONTHS: TIMESTAMP; the last day of a month stays the last day of the target month.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_ADD_MONTHS.html
CREATE OR REPLACE FUNCTION redshift.add_months(ts timestamp, n bigint) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
    WHEN ts::date = (date_trunc('month', ts) + interval '1 month - 1 day')::date
        THEN date_trunc('month', ts) + (n + 1) * interval '1 month' - interval '1 day'
             + (ts - date_trunc('day', ts))
    ELSE ts + n * interval '1 month'
END;

-- LAST_DAY: the DATE of the last day of the month.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_LAST_DAY.html
CREATE OR REPLACE FUNCTION redshift.last_day(ts timestamp) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (date_trunc('month', ts) + interval '1 month - 1 day')::date;

-- MONTHS_BETWEEN: FLOAT8; whole months from year and month, the rest from day and time
-- over a 31-day month; a whole number when the days match or both are month ends.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_MONTHS_BETWEEN_function.html
CREATE OR REPLACE FUNCTION redshift.months_between(d1 timestamp, d2 timestamp)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((extract(year FROM d1) - extract(year FROM d2)) * 12
        + extract(month FROM d1) - extract(month FROM d2))::double precision
     + CASE
         WHEN extract(day FROM d1) = extract(day FROM d2)
           OR (redshift.last_day(d1) = d1::date AND redshift.last_day(d2) = d2::date) THEN 0
         ELSE ((extract(day FROM d1) - extract(day FROM d2))
               + extract(epoch FROM (d1 - date_trunc('day', d1)) - (d2 - date_trunc('day', d2)))
                 / 86400)::double precision / 31
       END;

-- NEXT_DAY: the DATE of the first given weekday after the date (a week later when the
-- date already is that weekday). The day is one of the guide's names, in any case:
-- Su Sun Sunday, M Mo Mon Monday, Tu Tue Tues Tuesday, W We Wed Wednesday,
-- Th Thu Thurs Thursday, F Fr Fri Friday, Sa Sat Saturday.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_NEXT_DAY.html
CREATE OR REPLACE FUNCTION redshift.next_day(ts timestamp, day text) RETURNS date
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    target integer := CASE lower(btrim(day))
        WHEN 'su' THEN 0 WHEN 'sun' THEN 0 WHEN 'sunday' THEN 0
        WHEN 'm' THEN 1 WHEN 'mo' THEN 1 WHEN 'mon' THEN 1 WHEN 'monday' THEN 1
        WHEN 'tu' THEN 2 WHEN 'tue' THEN 2 WHEN 'tues' THEN 2 WHEN 'tuesday' THEN 2
        WHEN 'w' THEN 3 WHEN 'we' THEN 3 WHEN 'wed' THEN 3 WHEN 'wednesday' THEN 3
        WHEN 'th' THEN 4 WHEN 'thu' THEN 4 WHEN 'thurs' THEN 4 WHEN 'thursday' THEN 4
        WHEN 'f' THEN 5 WHEN 'fr' THEN 5 WHEN 'fri' THEN 5 WHEN 'friday' THEN 5
        WHEN 'sa' THEN 6 WHEN 'sat' THEN 6 WHEN 'saturday' THEN 6
    END;
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'Invalid day: %', day USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN ts::date + ((target - extract(dow FROM ts)::integer + 6) % 7 + 1);
END
$$;

-- GETDATE(): the statement's start time in the session time zone, to the second.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_GETDATE.html
CREATE OR REPLACE FUNCTION redshift.getdate() RETURNS timestamp
LANGUAGE sql STABLE PARALLEL SAFE
RETURN date_trunc('second', statement_timestamp())::timestamp;
