-- Membership counts of subquery shapes (server/sync/subqueries.ts), generalised from the one
-- built-in case (a clinician's patients) to any `col IN (SELECT … FROM … WHERE …)`: counts are
-- kept per subquery of a shape, for each value of the subquery's column.

-- Shapes of the old built-in rule carry a `membership` field the service no longer reads:
-- served as plain shapes they would show every patient. Drop them (their clients get a 409
-- and refetch under the new definition, which says the same as a subquery).
DELETE FROM sync_shapes WHERE definition ? 'membership';

ALTER TABLE sync_shape_members ADD COLUMN subquery integer NOT NULL DEFAULT 0;
ALTER TABLE sync_shape_members DROP CONSTRAINT sync_shape_members_pkey;
ALTER TABLE sync_shape_members ADD PRIMARY KEY (shape_id, subquery, member);
ALTER TABLE sync_shape_members ALTER COLUMN subquery DROP DEFAULT;

-- The WAL position bounding what a shape's snapshot saw. After a restart, transactions the
-- snapshot already included may still be unprocessed (the stream lagged behind it): with this
-- and snapshot_xmin/xmax/xip the service skips them again instead of applying them twice
-- (twice would double a subquery's counts, keeping rows in that should have moved out).
ALTER TABLE sync_shapes ADD COLUMN snapshot_wal_lsn bigint;
