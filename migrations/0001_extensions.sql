-- btree_gist: the exclusion constraints mix uuid equality with range overlap.
-- pg_trgm: patient search by name / MRN / phone substring.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
