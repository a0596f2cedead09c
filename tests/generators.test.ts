// Generators make only what a real ioctl can carry: every address, size and
// type word a u64. (A value past 2^64 is fine for a model and impossible for a
// kernel: found when memslot sequences reached 2^64 + page on real targets.)

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TargetInfo } from '../core/target.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';
import { toJson, type Json } from '../core/json.ts';

const info: TargetInfo = { kind: 'sim', spec: 'sim', host: 'any' };
const U64_MAX = (1n << 64n) - 1n;

function bigints(v: Json, out: bigint[]): bigint[] {
  if (typeof v === 'string' && /^0x[0-9a-f]+$/.test(v)) out.push(BigInt(v));
  else if (Array.isArray(v)) for (const x of v) bigints(x, out);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) bigints(x, out);
  return out;
}

describe('every 64-bit value a generator makes fits a u64', () => {
  for (const p of ALL_PROPERTIES) {
    if (p.kind !== 'conformance') continue;
    it(`${p.family}/${p.name}`, () => {
      for (const c of fc.sample(p.arbitrary({ info }), { numRuns: 3000, seed: 7 })) {
        for (const b of bigints(toJson(c), [])) expect(b >= 0n && b <= U64_MAX, `0x${b.toString(16)}`).toBe(true);
      }
    });
  }
});
