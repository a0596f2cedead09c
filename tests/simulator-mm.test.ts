// The simulator's memory bookkeeping against the plainest model there is: one
// entry per 2 MiB unit. mmap/munmap/MAP_FIXED sequences (the VMAs a VMM puts
// under a memslot) and memblock add/remove sequences (the banks a boot keeps)
// are generated, and after every step the simulator must agree with the model:
// which VMA a lookup finds, which one find_vma_intersection() returns first,
// what the MTE VMA walk of kvm_arch_prepare_memory_region() and user_mem_abort()
// decide over several VMAs, and which ranges memblock holds.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAINLINE_KNOBS, type SimKnobs } from '../adapters/simulator/knobs.ts';
import { Memblock } from '../adapters/simulator/layout.ts';
import { AddressSpace, SimMte } from '../adapters/simulator/mte.ts';
import type { Backing } from '../core/cases.ts';
import { BACKING_KINDS } from '../core/target.ts';

const U = 0x20_0000n; // HPAGE: hugetlb's unit, so every kind can be placed on it
const WINDOW = 0x1000_0000n; // MAP_FIXED placements go in [WINDOW, WINDOW + 16 U)
const UNITS = 16;
const RUNS = Number(process.env['S2C_RUNS'] ?? 300);

type Op =
  | { readonly op: 'fixed'; readonly b: Backing; readonly unit: number; readonly n: number; readonly skew: bigint }
  | { readonly op: 'anywhere'; readonly b: Backing; readonly n: number }
  | { readonly op: 'unmap'; readonly unit: number; readonly n: number };

const backing = fc.record({ kind: fc.constantFrom(...BACKING_KINDS), shared: fc.boolean() });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  // skew: a hugetlb mapping off its 2 MiB alignment is refused; the others take it as is (page-aligned)
  fc.record({
    op: fc.constant('fixed' as const),
    b: backing,
    unit: fc.nat(UNITS - 1),
    n: fc.integer({ min: 1, max: 6 }),
    skew: fc.constantFrom(0n, 0n, 0n, 0x1000n),
  }),
  fc.record({ op: fc.constant('anywhere' as const), b: backing, n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('unmap' as const), unit: fc.nat(UNITS - 1), n: fc.integer({ min: 1, max: 6 }) }),
);

const knobsArb: fc.Arbitrary<SimKnobs> = fc
  .record({
    mteVmaCheck: fc.constantFrom<SimKnobs['mteVmaCheck']>('vm-shared', 'not-mte-allowed'),
    hugetlbfsMteAllowed: fc.boolean(),
    mteFaultSkipsDevice: fc.boolean(),
    mteNoTagAccess: fc.constantFrom<SimKnobs['mteNoTagAccess']>('off', 'memattr'),
  })
  .map((k) => ({ ...MAINLINE_KNOBS, ...k }));

/** The rules the simulated kernel applies to one VMA (seed 003; d89585fbb308, c911f0d46879). */
function allowed(b: Backing, k: SimKnobs): boolean {
  const shared = b.kind === 'pfnmap' || b.shared;
  if (k.mteVmaCheck === 'vm-shared') return !shared;
  return b.kind === 'anon' || b.kind === 'memfd' || b.kind === 'tmpfs' || (b.kind === 'hugetlb' && k.hugetlbfsMteAllowed);
}

describe('simulated VMAs against a unit-by-unit model', () => {
  it('lookup, find_vma_intersection, the memslot VMA walk and the fault-time check agree with the model', () => {
    fc.assert(
      fc.property(
        knobsArb,
        fc.boolean(),
        fc.boolean(),
        fc.array(opArb, { minLength: 1, maxLength: 12 }),
        fc.nat(UNITS - 1),
        fc.integer({ min: 1, max: UNITS }),
        (k, enabled, perm, ops, s, len) => {
          const space = new AddressSpace(k);
          const model = new Map<bigint, Backing>(); // unit base address -> what maps it
          const tagged: bigint[] = []; // every unit base any op touched
          for (const o of ops) {
            if (o.op === 'unmap') {
              const at = WINDOW + BigInt(o.unit) * U;
              space.unmap(at, BigInt(o.n) * U);
              for (let i = 0n; i < BigInt(o.n); i++) model.delete(at + i * U);
              continue;
            }
            const size = BigInt(o.n) * U;
            const at = o.op === 'fixed' ? WINDOW + BigInt(o.unit) * U : undefined;
            // a hugetlb mapping one page off its 2 MiB alignment is refused (the others are kept unit-aligned)
            const skew = o.op === 'fixed' && o.b.kind === 'hugetlb' ? o.skew : 0n;
            const r = space.map({ ...o.b, size, ...(at === undefined ? {} : { at: at + skew }) });
            const refuse = (o.b.kind === 'pfnmap' && !o.b.shared) || skew !== 0n;
            expect('unsupported' in r, `${o.op} ${o.b.kind} skew ${skew}`).toBe(refuse);
            if (!('uaddr' in r)) continue;
            if (at === undefined)
              for (let i = 0n; i < BigInt(o.n); i++) expect(model.has(r.uaddr + i * U), 'a fresh reservation overlaps nothing').toBe(false);
            for (let i = 0n; i < BigInt(o.n); i++) {
              model.set(r.uaddr + i * U, o.b);
              tagged.push(r.uaddr + i * U);
            }
          }
          // every unit: lookup() finds a VMA containing it iff the model maps it
          for (let i = 0; i < UNITS; i++) tagged.push(WINDOW + BigInt(i) * U);
          for (const a of tagged) {
            for (const off of [0n, U - 1n]) {
              const v = space.lookup(a + off);
              expect(v !== undefined, `lookup ${(a + off).toString(16)}`).toBe(model.has(a));
              if (v) expect(v.start <= a + off && a + off < v.end).toBe(true);
            }
          }
          // every window [start, end) of the placement area: find_vma_intersection() gives the lowest VMA in
          // it, and an MTE VM's memslot over it is refused iff any VMA in it is (unless NoTagAccess takes it)
          const mte = new SimMte(k, true, perm);
          if (enabled) expect(mte.enableCap(0, false)).toBe(0);
          const notag = k.mteNoTagAccess === 'memattr' && perm;
          for (let a = 0; a < UNITS; a++) {
            for (let b = a + 1; b <= UNITS; b++) {
              const lo = WINDOW + BigInt(a) * U;
              const hi = WINDOW + BigInt(b) * U;
              const inside = [...Array(b - a).keys()].map((i) => lo + BigInt(i) * U);
              const firstMapped = inside.find((x) => model.has(x));
              const hit = space.intersecting(lo, hi);
              if (firstMapped === undefined) expect(hit).toBeUndefined();
              else expect(hit).toBe(space.lookup(firstMapped));
              const refused = enabled && !notag && inside.some((x) => model.has(x) && !allowed(model.get(x) as Backing, k));
              expect(mte.prepare(space, lo, hi - lo), `memslot over units ${a}..${b}`).toBe(refused ? 'EINVAL' : 0);
            }
          }
          const start = WINDOW + BigInt(s) * U;
          const units = [...Array(len).keys()].map((i) => model.get(start + BigInt(i) * U));
          // user_mem_abort() on each unit
          for (let i = 0; i < len; i++) {
            const b = units[i];
            const got = mte.fault(space, start + BigInt(i) * U);
            if (!b) {
              expect(got).toBe('EFAULT');
              continue;
            }
            const device = b.kind === 'pfnmap';
            const checked = enabled && (!device || !k.mteFaultSkipsDevice) && !allowed(b, k);
            expect(got).toEqual(checked && !notag ? 'EFAULT' : { device, noTagAccess: checked && notag });
          }
        },
      ),
      { numRuns: RUNS, seed: 20261122 },
    );
  });

  it('a hugetlb mapping of a size that is not a multiple of 2 MiB is refused', () => {
    const space = new AddressSpace(MAINLINE_KNOBS);
    expect(space.map({ kind: 'hugetlb', shared: false, size: U + 0x1000n })).toHaveProperty('unsupported');
    expect(space.map({ kind: 'hugetlb', shared: false, size: U, at: WINDOW + 0x1000n })).toHaveProperty('unsupported');
    expect(space.map({ kind: 'hugetlb', shared: false, size: U, at: WINDOW })).toEqual({ uaddr: WINDOW });
    expect(space.map({ kind: 'pfnmap', shared: false, size: U })).toHaveProperty('unsupported');
  });
});

describe('simulated memblock against a unit-by-unit model', () => {
  const mbOp = fc.record({ add: fc.boolean(), unit: fc.nat(31), n: fc.integer({ min: 1, max: 8 }) });
  it('add and remove in any order keep exactly the units the model has, merged', () => {
    fc.assert(
      fc.property(fc.array(mbOp, { maxLength: 16 }), (ops) => {
        const mb = new Memblock();
        const model = new Array<boolean>(40).fill(false);
        for (const o of ops) {
          const base = BigInt(o.unit) * U;
          if (o.add) mb.add(base, BigInt(o.n) * U);
          else mb.remove(base, base + BigInt(o.n) * U);
          for (let i = o.unit; i < o.unit + o.n; i++) model[i] = o.add;
        }
        const runs: { base: bigint; size: bigint }[] = [];
        for (let i = 0; i < model.length; i++) {
          if (!model[i]) continue;
          const last = runs[runs.length - 1];
          if (last && last.base + last.size === BigInt(i) * U) last.size += U;
          else runs.push({ base: BigInt(i) * U, size: U });
        }
        // remove() may leave two touching pieces unmerged; memblock's users see the same bytes
        const merged = mb.ranges().reduce<{ base: bigint; size: bigint }[]>((acc, r) => {
          const last = acc[acc.length - 1];
          if (last && last.base + last.size === r.base) last.size += r.size;
          else acc.push({ ...r });
          return acc;
        }, []);
        expect(merged).toEqual(runs);
        expect(mb.start()).toBe(runs[0]?.base ?? 0n);
        expect(mb.endOfDram()).toBe(
          runs.length
            ? (runs[runs.length - 1] as { base: bigint; size: bigint }).base + (runs[runs.length - 1] as { size: bigint }).size
            : 0n,
        );
      }),
      { numRuns: RUNS, seed: 20261122 },
    );
  });
});
