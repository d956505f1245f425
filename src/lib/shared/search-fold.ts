// Search text folding shared by the server and the device: lower case, accents dropped
// ("José" -> "jose"), the query split into words that may come in any order. PostgreSQL's
// `unaccent` is neither immutable (so not indexable) nor available in PGlite, so both sides
// use the same immutable `translate()` over this table, as the SQL function `clinic_fold`
// (server migration 0110, local migration 8) and as `foldForSearch` here.

/** Accented lower-case letters and, at the same position, their plain letter. */
export const FOLD_FROM = 'àáâãäåāăąǎçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőǒùúûüũūŭůűųǔýÿŷźżžśŝşšţťŧŕŗřæœß';
export const FOLD_TO = 'aaaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoooooooooouuuuuuuuuuuyyyzzzsssstttrrraos';

const TABLE = new Map([...FOLD_FROM].map((c, i) => [c, FOLD_TO[i]!]));

/** What `clinic_fold(text)` computes in SQL. */
export function foldForSearch(text: string): string {
  let out = '';
  for (const c of text.toLowerCase()) out += TABLE.get(c) ?? c;
  return out;
}

/** The folded words of a search, each to be found somewhere in the haystack (any order). */
export function searchWords(text: string): string[] {
  return foldForSearch(text).split(/\s+/).filter(Boolean).slice(0, 8);
}

/** The SQL of `clinic_fold`: IMMUTABLE, so generated columns and indexes may use it. */
export const CLINIC_FOLD_FUNCTION_SQL = `CREATE OR REPLACE FUNCTION clinic_fold(t text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN translate(lower(t), '${FOLD_FROM}', '${FOLD_TO}');`;
