// DRAM banks: one to many, anywhere in 52 bits, in 2 MiB units; some at the usual
// DRAM bases, some in [2^52 - 2^48, 2^52 - 2^47), the range seed 001 is about.

import fc from 'fast-check';
import type { PhysRange } from '../../core/target.ts';

const UNIT = 1n << 21n;
const TOP = 1n << 52n;

const base = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: (TOP >> 21n) - 1n }).map((u) => u * UNIT) },
  { weight: 2, arbitrary: fc.constantFrom(0n, 0x4000_0000n, 0x8000_0000n, 0x80_0000_0000n, 0x880_0000_0000n) },
  // seed 001: memory in [2^52 - 2^48, 2^52 - 2^47)
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: (1n << 26n) - 1n }).map((u) => TOP - (1n << 48n) + u * UNIT) },
);

const size = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: 1n, max: 1n << 10n }).map((u) => u * UNIT) }, // up to 2 GiB
  { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 1n << 23n }).map((u) => u * UNIT) }, // up to 16 TiB
);

/** Sorted, disjoint banks below 2^52; later banks overlapping earlier ones are trimmed. */
export function disjointBanks(bs: readonly PhysRange[]): PhysRange[] {
  const out: PhysRange[] = [];
  for (const b of [...bs].sort((x, y) => (x.base < y.base ? -1 : x.base > y.base ? 1 : 0))) {
    const last = out[out.length - 1];
    const lo = last && last.base + last.size > b.base ? last.base + last.size : b.base;
    const hi = b.base + b.size < TOP ? b.base + b.size : TOP;
    if (hi > lo) out.push({ base: lo, size: hi - lo });
  }
  return out;
}

export const banksArb: fc.Arbitrary<PhysRange[]> = fc.array(fc.record({ base, size }), { minLength: 1, maxLength: 6 }).map(disjointBanks);
