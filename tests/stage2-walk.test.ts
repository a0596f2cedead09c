// The simulated stage-2 walk against a map from IPA page to (PA, writable): for
// every VTCR_EL2 kvm_get_vtcr() makes, tables filled page by page must translate
// exactly what was mapped, fault with a permission fault on a store to a
// read-only page and an address size fault on an output address beyond PS, and
// report a translation fault at the first level whose descriptor is missing.
// The guest harness makes one access per VM, so these paths need their own check.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PARANGE_BITS, pageShift as granuleShift } from '../arch/host.ts';
import { ps } from '../arch/vtcr.ts';
import { MAINLINE_KNOBS } from '../adapters/simulator/knobs.ts';
import { kvmGetVtcr, kvmSetIpaLimit } from '../adapters/simulator/kvm.ts';
import { rootIndexBits, Stage2Tables, startLevel, walk, walkConfigValid } from '../adapters/simulator/stage2.ts';
import { anyHost } from '../properties/arbitraries/host.ts';

const RUNS = Number(process.env['S2C_RUNS'] ?? 300);

interface Page {
  readonly ipa: bigint;
  readonly pa: bigint;
  readonly writable: boolean;
}

const caseArb = anyHost
  .map((host) => ({ host, limit: kvmSetIpaLimit(host, MAINLINE_KNOBS) }))
  .filter(({ limit }) => limit >= 32)
  .chain(({ host, limit }) =>
    fc.record({
      host: fc.constant(host),
      physShift: fc.integer({ min: 32, max: limit }),
      // page numbers as fractions of the IPA space, so that pages share tables or not
      pages: fc.array(
        fc.record({
          at: fc.bigInt({ min: 0n, max: (1n << 20n) - 1n }),
          near: fc.nat(3),
          pa: fc.bigInt({ min: 0n, max: (1n << 36n) - 1n }),
          writable: fc.boolean(),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      probes: fc.array(fc.record({ at: fc.bigInt({ min: 0n, max: (1n << 20n) - 1n }), off: fc.nat(), write: fc.boolean() }), {
        maxLength: 8,
      }),
    }),
  );

describe('simulated stage-2 walk against a page map', () => {
  it('translates what was mapped and faults where it was not, at the right level', () => {
    fc.assert(
      fc.property(caseArb, ({ host, physShift, pages, probes }) => {
        const vtcr = kvmGetVtcr(host, physShift);
        const shift = granuleShift(host.granule);
        const stride = shift - 3;
        // kvm_get_vtcr() only makes walkable configurations for sizes within the limit
        expect(walkConfigValid(vtcr, host.parange)).toBe(true);
        const first = startLevel(vtcr);
        const tables = new Stage2Tables(shift, 1 << rootIndexBits(vtcr));
        const npages = 1n << BigInt(physShift - shift);
        const model = new Map<bigint, Page>();
        const pageOf = (at: bigint, near: number) => ((at * npages) >> 20n) + BigInt(near) * 0x1_0001n;
        for (const p of pages) {
          const n = pageOf(p.at, p.near) % npages;
          const ipa = n << BigInt(shift);
          // output addresses up to 2^36 pages: some beyond a small PS (32 bits)
          const pa = (p.pa << BigInt(shift)) & ((1n << 48n) - 1n);
          tables.map(ipa, pa, first, rootIndexBits(vtcr), p.writable);
          model.set(n, { ipa, pa, writable: p.writable });
        }
        const oaBits = PARANGE_BITS[Math.min(ps(vtcr), host.parange, 6)] as number;
        const levelShift = (l: number) => BigInt(shift + stride * (3 - l));
        const check = (ipa: bigint, write: boolean) => {
          const got = walk(tables, vtcr, host.parange, ipa, write);
          // beyond the input range: level 0 whatever the start level (Arm ARM IPAIsOutOfRange; docs/findings.md)
          if (ipa >> BigInt(physShift) !== 0n) return expect(got).toEqual({ ok: false, fault: 'translation', level: 0 });
          const m = model.get(ipa >> BigInt(shift));
          if (m) {
            if (m.pa >> BigInt(oaBits) !== 0n) return expect(got).toEqual({ ok: false, fault: 'address-size', level: 3 });
            if (write && !m.writable) return expect(got).toEqual({ ok: false, fault: 'permission', level: 3 });
            return expect(got).toEqual({ ok: true, pa: m.pa | (ipa & ((1n << BigInt(shift)) - 1n)), writable: m.writable });
          }
          // the first level with no descriptor: no mapped page shares the IPA's bits above that level's shift
          let level = first;
          while (level < 3 && [...model.values()].some((p) => p.ipa >> levelShift(level) === ipa >> levelShift(level))) level++;
          return expect(got).toEqual({ ok: false, fault: 'translation', level });
        };
        for (const p of model.values()) {
          check(p.ipa, false);
          check(p.ipa | ((1n << BigInt(shift)) - 1n), true);
        }
        for (const q of probes) {
          const ipa = (pageOf(q.at, 0) << BigInt(shift)) | BigInt(q.off % (1 << shift));
          check(ipa, q.write);
          check(ipa + (1n << BigInt(physShift)), q.write); // beyond the IPA space
        }
      }),
      { numRuns: RUNS, seed: 20261122 },
    );
  });
});
