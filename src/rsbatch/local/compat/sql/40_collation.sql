-- Redshift's case-insensitive collation, COLLATE case_insensitive.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_collation_function.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_DATABASE.html (COLLATE CASE_INSENSITIVE)
--
-- PostgreSQL can only compare case-insensitively with a nondeterministic ICU collation.
-- When the server has ICU it is created here under Redshift's name (level-2 strength:
-- case ignored, accents kept). The embedded PostgreSQL wheel is built --without-icu, so
-- there the collation cannot exist; citext (a contrib extension the wheel ships) is
-- installed instead, and a column or expression must be typed citext to compare
-- case-insensitively (the SQL shim's rewrite of COLLATE case_insensitive).
DO $compat$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_collation
                   WHERE collname = 'case_insensitive'
                     AND collnamespace = 'redshift'::regnamespace) THEN
        BEGIN
            CREATE COLLATION redshift.case_insensitive (
                provider = icu, locale = 'und-u-ks-level2', deterministic = false);
        EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR undefined_object THEN
            NULL;  -- no ICU in this build: citext below is the stand-in
        END;
    END IF;
END
$compat$;

CREATE EXTENSION IF NOT EXISTS citext SCHEMA redshift;

-- Redshift compares case-insensitively when either operand has the collation; citext's own
-- operators take citext on both sides, and PostgreSQL resolves `varchar = citext` to the
-- case-sensitive text operator. These text/citext operators (in redshift, ahead of
-- pg_catalog) compare the pair as citext, so `name = 'amazon'::citext` ignores case. (The
-- bodies name citext's operator: resolved at creation, a bare `=` could be text's.)
DO $compat$
DECLARE
    op record;
    side record;
BEGIN
    FOR op IN SELECT * FROM (VALUES ('=', 'eq'), ('<>', 'ne'), ('<', 'lt'), ('<=', 'le'),
                                    ('>', 'gt'), ('>=', 'ge')) AS o(name, fn)
    LOOP
        FOR side IN SELECT * FROM (VALUES ('text', 'redshift.citext', 'tc'),
                                          ('redshift.citext', 'text', 'ct')) AS s(l, r, tag)
        LOOP
            EXECUTE format('CREATE OR REPLACE FUNCTION redshift.%I(a %s, b %s) RETURNS boolean '
                           'LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE '
                           'RETURN a::redshift.citext OPERATOR(redshift.%s) b::redshift.citext',
                           '_ci_' || op.fn || '_' || side.tag, side.l, side.r, op.name);
            IF NOT EXISTS (
                SELECT 1 FROM pg_operator
                WHERE oprname = op.name AND oprnamespace = 'redshift'::regnamespace
                  AND oprleft = side.l::regtype AND oprright = side.r::regtype
            ) THEN
                EXECUTE format('CREATE OPERATOR redshift.%s (LEFTARG = %s, RIGHTARG = %s, '
                               'FUNCTION = redshift.%I)',
                               op.name, side.l, side.r, '_ci_' || op.fn || '_' || side.tag);
            END IF;
        END LOOP;
    END LOOP;
END
$compat$;
