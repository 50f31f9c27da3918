-- Redshift's string, conditional and JSON functions that PostgreSQL lacks or types
-- differently. Each names the Developer Guide page it follows.

-- CHARINDEX(substring, string): 1-based position, 0 when absent. The guide's example
-- searches a DECIMAL column (charindex('.', commission)): any value is read as its text.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_CHARINDEX.html
CREATE OR REPLACE FUNCTION redshift.charindex(search text, string text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN strpos(string, search);

CREATE OR REPLACE FUNCTION redshift.charindex(search text, string anynonarray) RETURNS integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$ SELECT pg_catalog.strpos(string::text, search) $$;

-- LEN: characters; CHAR values drop trailing blanks (PostgreSQL's length() rule per type).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_LEN.html
CREATE OR REPLACE FUNCTION redshift.len(s text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN length(s);

CREATE OR REPLACE FUNCTION redshift.len(s character) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN length(s);

-- STRTOL(num_string, base): BIGINT. Leading white space, one optional sign, an optional
-- 0x when the base is 16; conversion stops at the first character that is not a digit of
-- the base (C's strtol), so '' is 0. Outside the signed 64-bit range is an error.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_STRTOL.html
CREATE OR REPLACE FUNCTION redshift.strtol(num_string text, base integer) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    s text := ltrim(num_string, E' \t\n\r\f\v');
    negative boolean := false;
    total numeric := 0;
    digit integer;
    c text;
BEGIN
    IF base < 2 OR base > 36 THEN
        RAISE EXCEPTION 'STRTOL base must be between 2 and 36, not %', base
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF left(s, 1) IN ('+', '-') THEN
        negative := left(s, 1) = '-';
        s := substr(s, 2);
    END IF;
    IF base = 16 AND lower(left(s, 2)) = '0x' THEN
        s := substr(s, 3);
    END IF;
    FOR i IN 1..length(s) LOOP
        c := lower(substr(s, i, 1));
        digit := CASE WHEN c BETWEEN '0' AND '9' THEN ascii(c) - 48
                      WHEN c BETWEEN 'a' AND 'z' THEN ascii(c) - 87 END;
        EXIT WHEN digit IS NULL OR digit >= base;
        total := total * base + digit;
    END LOOP;
    RETURN (CASE WHEN negative THEN -total ELSE total END)::bigint;
END
$$;

-- NVL(expr, expr, ...): the first non-null argument. NVL2(expr, not_null, null).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_NVL_function.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_NVL2.html
-- Quoted single-expression SQL bodies: PostgreSQL inlines them into the calling query, so
-- COALESCE and CASE evaluate lazily, as Redshift's NVL / NVL2 do. (Polymorphic SQL
-- functions cannot have SQL-standard bodies.) Beyond three arguments NVL is variadic and
-- evaluates every argument.
CREATE OR REPLACE FUNCTION redshift.nvl(a anycompatible, b anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(a, b) $$;

CREATE OR REPLACE FUNCTION redshift.nvl(a anycompatible, b anycompatible, c anycompatible)
RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(a, b, c) $$;

CREATE OR REPLACE FUNCTION redshift.nvl(VARIADIC args anycompatiblearray) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT args[i] FROM pg_catalog.generate_subscripts(args, 1) AS g(i)
    WHERE args[i] IS NOT NULL ORDER BY i LIMIT 1
$$;

CREATE OR REPLACE FUNCTION redshift.nvl2(expression anyelement, not_null anycompatible,
                                         if_null anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN expression IS NOT NULL THEN not_null ELSE if_null END
$$;

-- A string literal as the first argument has no type PostgreSQL could infer for anyelement.
CREATE OR REPLACE FUNCTION redshift.nvl2(expression text, not_null anycompatible,
                                         if_null anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN expression IS NOT NULL THEN not_null ELSE if_null END
$$;

-- Redshift casts a timestamp or date to text where a string is expected: LIKE / ILIKE on
-- a timestamp and SPLIT_PART of a timestamp work on its text form (YYYY-MM-DD HH24:MI:SS).
-- PostgreSQL has no such implicit cast (and CREATE CAST ... AS IMPLICIT between built-in
-- types is not allowed), so the operators and function below take the timestamp as is.
-- https://docs.aws.amazon.com/redshift/latest/dg/c_Supported_data_types.html (type conversion)
-- https://docs.aws.amazon.com/redshift/latest/dg/SPLIT_PART.html (splits a timestamp LISTTIME)
CREATE OR REPLACE FUNCTION redshift._like(ts timestamp, pattern text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ts::text LIKE pattern;

CREATE OR REPLACE FUNCTION redshift._not_like(ts timestamp, pattern text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ts::text NOT LIKE pattern;

CREATE OR REPLACE FUNCTION redshift._ilike(ts timestamp, pattern text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ts::text ILIKE pattern;

CREATE OR REPLACE FUNCTION redshift._not_ilike(ts timestamp, pattern text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ts::text NOT ILIKE pattern;

CREATE OR REPLACE FUNCTION redshift._like(d date, pattern text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN d::text LIKE pattern;

CREATE OR REPLACE FUNCTION redshift._not_like(d date, pattern text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN d::text NOT LIKE pattern;

DO $compat$
DECLARE
    op record;
BEGIN
    FOR op IN SELECT * FROM (VALUES
        ('~~', 'timestamp', '_like'), ('!~~', 'timestamp', '_not_like'),
        ('~~*', 'timestamp', '_ilike'), ('!~~*', 'timestamp', '_not_ilike'),
        ('~~', 'date', '_like'), ('!~~', 'date', '_not_like')) AS o(name, lefttype, fn)
    LOOP
        IF NOT EXISTS (
            SELECT 1 FROM pg_operator
            WHERE oprname = op.name AND oprnamespace = 'redshift'::regnamespace
              AND oprleft = op.lefttype::regtype AND oprright = 'text'::regtype
        ) THEN
            EXECUTE format('CREATE OPERATOR redshift.%s (LEFTARG = %s, RIGHTARG = text, '
                           'FUNCTION = redshift.%I)', op.name, op.lefttype, op.fn);
        END IF;
    END LOOP;
END
$compat$;

-- SPLIT_PART(timestamp, delimiter, n) splits the timestamp's text form.
-- https://docs.aws.amazon.com/redshift/latest/dg/SPLIT_PART.html
CREATE OR REPLACE FUNCTION redshift.split_part(ts timestamp, delimiter text, part integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.split_part(ts::text, delimiter, part);

CREATE OR REPLACE FUNCTION redshift.split_part(d date, delimiter text, part integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.split_part(d::text, delimiter, part);

-- -- JSON -------------------------------------------------------------------------------------
-- SUPER is stood in for by jsonb: the type name resolves through the search_path.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_SUPER_type.html
DO $compat$
BEGIN
    IF to_regtype('redshift.super') IS NULL THEN
        CREATE DOMAIN redshift.super AS jsonb;
    END IF;
END
$compat$;

-- JSON_PARSE(string) -> SUPER; JSON_SERIALIZE(super) -> VARCHAR.
-- https://docs.aws.amazon.com/redshift/latest/dg/JSON_PARSE.html
-- https://docs.aws.amazon.com/redshift/latest/dg/JSON_SERIALIZE.html
CREATE OR REPLACE FUNCTION redshift.json_parse(json_string text) RETURNS redshift.super
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN json_string::jsonb;

CREATE OR REPLACE FUNCTION redshift.json_serialize(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN value::text;

-- IS_VALID_JSON / IS_VALID_JSON_ARRAY.
-- https://docs.aws.amazon.com/redshift/latest/dg/IS_VALID_JSON.html
-- https://docs.aws.amazon.com/redshift/latest/dg/IS_VALID_JSON_ARRAY.html
CREATE OR REPLACE FUNCTION redshift.is_valid_json(json_string text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN json_string IS JSON;

CREATE OR REPLACE FUNCTION redshift.is_valid_json_array(json_string text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN json_string IS JSON ARRAY;

-- JSON_EXTRACT_PATH_TEXT(json_string, path_elem [, ...] [, null_if_invalid]): VARCHAR;
-- NULL for a missing path; with null_if_invalid true, NULL for invalid JSON (else an error).
-- https://docs.aws.amazon.com/redshift/latest/dg/JSON_EXTRACT_PATH_TEXT.html
CREATE OR REPLACE FUNCTION redshift.json_extract_path_text(json_string text, VARIADIC path text[])
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.json_extract_path_text(json_string::json, VARIADIC path);

-- PL/pgSQL, not SQL: a SQL CASE would let the planner fold the cast of a constant invalid
-- string (an error) before the null_if_invalid branch is chosen.
CREATE OR REPLACE FUNCTION redshift._json_extract_path_text(json_string text, path text[],
                                                            null_if_invalid boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF null_if_invalid AND NOT (json_string IS JSON) THEN
        RETURN NULL;
    END IF;
    RETURN pg_catalog.json_extract_path_text(json_string::json, VARIADIC path);
END
$$;

DO $compat$
DECLARE
    depth integer;
    params text;
    elems text;
BEGIN
    FOR depth IN 1..5 LOOP  -- Redshift nests paths up to five levels
        SELECT string_agg(format('p%s text', i), ', '), string_agg(format('p%s', i), ', ')
          INTO params, elems FROM generate_series(1, depth) AS i;
        EXECUTE format(
            'CREATE OR REPLACE FUNCTION redshift.json_extract_path_text(json_string text, %s, '
            'null_if_invalid boolean) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE '
            'RETURN redshift._json_extract_path_text(json_string, ARRAY[%s], null_if_invalid)',
            params, elems);
    END LOOP;
END
$compat$;

-- JSON_ARRAY_LENGTH(json_array [, null_if_invalid]) and
-- JSON_EXTRACT_ARRAY_ELEMENT_TEXT(json_string, pos [, null_if_invalid]) (0-based).
-- https://docs.aws.amazon.com/redshift/latest/dg/JSON_ARRAY_LENGTH.html
-- https://docs.aws.amazon.com/redshift/latest/dg/JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html
CREATE OR REPLACE FUNCTION redshift.json_array_length(array_string text,
                                                      null_if_invalid boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF null_if_invalid AND NOT (array_string IS JSON ARRAY) THEN
        RETURN NULL;
    END IF;
    RETURN pg_catalog.json_array_length(array_string::json);
END
$$;

CREATE OR REPLACE FUNCTION redshift.json_extract_array_element_text(
    json_string text, pos integer, null_if_invalid boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF null_if_invalid AND NOT (json_string IS JSON ARRAY) THEN
        RETURN NULL;
    END IF;
    RETURN CASE WHEN pos < 0 THEN NULL ELSE json_string::json ->> pos END;
END
$$;
