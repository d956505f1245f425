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
