-- A statement whose error is a megabyte long (the cast fails and quotes the whole string):
-- the run must still fail with its own, shortened, error and `rsbatch show` must answer.
SELECT repeat('a', 1000000)::int;
