// Which stored shapes pglite-sync would resume past changes it never applied: a shape's
// stored offset points into a transaction newer than the subscription's last commit.
import { describe, expect, it } from 'vitest';
import { REFETCH_HANDLE, offsetLsn, shapesResumingPastCommit } from '../../src/lib/sync/resume-guard.js';

const state = (last_lsn: string, offsets: Record<string, string>) => ({
  last_lsn,
  shape_metadata: Object.fromEntries(Object.entries(offsets).map(([k, offset]) => [k, { handle: `h-${k}`, offset }])),
});

describe('offsetLsn', () => {
  it("reads the commit LSN of Electric's offsets and refuses anything else", () => {
    expect(offsetLsn('-1')).toBe(-1n);
    expect(offsetLsn('0_41')).toBe(0n);
    expect(offsetLsn('24074800_4')).toBe(24074800n);
    expect(offsetLsn('18446744073709551615_2')).toBe(18446744073709551615n);
    expect(offsetLsn('5_inf')).toBe(5n);
    for (const junk of ['', '12', '_3', '1_2_3', 'abc_1', '-2', '1_-1', ' 1_2']) expect(offsetLsn(junk)).toBeNull();
  });
});

describe('shapesResumingPastCommit', () => {
  it('keeps shapes whose offsets lie within the last commit', () => {
    expect(shapesResumingPastCommit(state('900', { a: '900_6', b: '850_0', c: '0_12', d: '-1' }))).toEqual([]);
  });

  it('names the shapes stored past the commit (changes that waited for the others)', () => {
    expect(shapesResumingPastCommit(state('900', { a: '901_0', b: '850_0', c: '1200_4' }))).toEqual(['a', 'c']);
  });

  it('names a refetched snapshot stored before any commit applied it', () => {
    // A new subscription (last_lsn -1) catching up on a must-refetch commits the truncate and
    // stores the snapshot's offset before its rows.
    expect(shapesResumingPastCommit(state('-1', { a: '0_2000', b: '-1' }))).toEqual(['a']);
  });

  it('refetches what it cannot read, once', () => {
    expect(shapesResumingPastCommit(state('900', { a: 'weird', b: '10_0' }))).toEqual(['a']);
    expect(shapesResumingPastCommit(state('', { a: '10_0' }))).toEqual(['a']);
    const marked = state('900', { a: '1200_0' });
    marked.shape_metadata.a!.handle = REFETCH_HANDLE;
    expect(shapesResumingPastCommit(marked)).toEqual([]);
  });
});
