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
