// The app's local (PGlite) migrations, like the server's, must never change once shipped: a
// device that ran version N keeps the schema that version's SQL made, and only a new version
// can change it. This list holds the SHA-256 of each shipped version's SQL. If this test fails,
// revert the edit (the SQL may live in another module: src/lib/outbox/schema.ts, write-sql.ts)
// and add the change as a new version at the end of LOCAL_MIGRATIONS instead. Add a line
// here when a new version ships.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LOCAL_MIGRATIONS } from '../../src/lib/db/schema/migrations';

const SHIPPED: Record<number, string> = {
  1: '6a652b08e7f0f53a3be9d2dec1a08086ead1c2805ba039f7dd6e427b30936893',
  2: '6de253d728b82332ec20c686a6224ca1f0532debb1619eb67c60f5770ed09573',
  3: '535cf3df30863347e4c5c8c4e641ab4c7f8d69d84106a11926d0bdf2d549553f',
  4: '76be4316876ade12e0ec46d9b51470449792e4bcf46e35f88ad4ef5923838e5f',
};

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('shipped local migrations', () => {
  it.each(Object.entries(SHIPPED))('version %s still has the SQL it shipped with', (version, hash) => {
    const migration = LOCAL_MIGRATIONS.find((m) => m.version === Number(version));
    expect(migration, `local migration ${version} was removed`).toBeDefined();
    expect(sha256(migration!.sql), `local migration ${version} (${migration!.name}) was edited`).toBe(hash);
  });

  it('versions only grow: a new one is appended, never inserted', () => {
    const versions = LOCAL_MIGRATIONS.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  });
});
