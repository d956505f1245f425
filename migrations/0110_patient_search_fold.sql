-- migrate: no-transaction
-- Patient search that ignores accents, case and word order ("jose" finds José, "Yamamoto
-- José" finds José Yamamoto). unaccent() is only STABLE, so it cannot be indexed; this
-- IMMUTABLE fold (lower + translate of accented letters, same table as
-- src/lib/shared/search-fold.ts) can. The haystack is name, MRN, phone and phone digits; each
-- searched word is a LIKE on it, served by one trigram index.
-- CONCURRENTLY: adding the index to a populated database does not block patient writes.
CREATE OR REPLACE FUNCTION clinic_fold(t text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN translate(lower(t), 'àáâãäåāăąǎçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőǒùúûüũūŭůűųǔýÿŷźżžśŝşšţťŧŕŗřæœß', 'aaaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoooooooooouuuuuuuuuuuyyyzzzsssstttrrraos');

CREATE OR REPLACE FUNCTION patient_search_haystack(full_name text, mrn text, phone text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN clinic_fold(coalesce(full_name, '') || ' ' || coalesce(mrn, '') || ' ' || coalesce(phone, ''))
    || ' ' || regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g');

CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_search_haystack_trgm_idx
  ON patients USING gin (patient_search_haystack(full_name, mrn, phone) gin_trgm_ops) WHERE deleted_at IS NULL;

-- The per-column trigram indexes of 0006 served the old search (ILIKE on each column) and
-- nothing else; dropped so a patient write maintains one trigram index, not four.
DROP INDEX CONCURRENTLY IF EXISTS patients_name_trgm_idx;
DROP INDEX CONCURRENTLY IF EXISTS patients_mrn_trgm_idx;
DROP INDEX CONCURRENTLY IF EXISTS patients_phone_trgm_idx;
