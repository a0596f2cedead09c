// One guest access: kind, size, and an address weighted to the boundaries
// N-1, N, L-1, L, P-1, P (VM IPA size, host limit candidates, PARange), the
// backed slots, and anywhere in between; or confined to one region.

import fc from 'fast-check';
import { expressibleIpaBits, pageSize, parangeToPhysShift } from '../../arch/host.ts';
import { HARNESS_END } from '../../core/cases.ts';
import { ACCESS_SIZES, type Access, type GuestState, type HostConfig } from '../../core/target.ts';
import { LOW_SLOT_GPA } from './backedSlots.ts';

/**
 * in-range: below 2^N; between: [2^N, 2^L); beyond-limit: [2^L, 2^P); beyond-parange: from 2^P, where L is
 * the host's IPA limit candidate min(P, 48), or min(P, 52) with LPA2 or 64K pages.
 */
export type Region = 'any' | 'in-range' | 'between' | 'beyond-limit' | 'beyond-parange';

/** The highest address + 1 a state can name: AArch32 cannot reach above 4 GiB (short) or 1 TiB (LPAE). */
function reach(state: GuestState): bigint {
  if (state === 'a32-short') return 1n << 32n;
  if (state === 'a32-lpae') return 1n << 40n;
  return 1n << 64n;
}

function span(host: HostConfig, ipaBits: number, region: Region): [bigint, bigint] | undefined {
  const p = parangeToPhysShift(host.parange, host.kernelPaBits);
  const l = expressibleIpaBits(host);
  const b = (x: number) => 1n << BigInt(x);
  const r: Record<Exclude<Region, 'any'>, [bigint, bigint]> = {
    'in-range': [HARNESS_END, b(ipaBits)],
    between: [b(ipaBits), b(l)],
    'beyond-limit': [b(l), b(p)],
    'beyond-parange': [b(p), b(64)],
  };
  if (region === 'any') return undefined;
  const [lo, hi] = r[region];
  return lo < hi ? [lo, hi] : undefined;
}

/** base, pages and 8-byte steps from it */
type Where = [bigint, number, number];

function whereIn(lo: bigint, hi: bigint): fc.Arbitrary<Where> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constant(lo), fc.constant(0), fc.nat(0x7f)) },
    { weight: 3, arbitrary: fc.tuple(fc.constant(hi), fc.constant(-1), fc.nat(0x7f)) },
    { weight: 2, arbitrary: fc.bigInt({ min: lo, max: hi - 1n }).map((a): Where => [a, 0, 0]) },
  );
}

export function accessArb(host: HostConfig, ipaBits: number, state: GuestState, region: Region = 'any'): fc.Arbitrary<Access> {
  const page = pageSize(host.granule);
  const p = parangeToPhysShift(host.parange, host.kernelPaBits);
  const bounds = [...new Set([ipaBits, Math.min(p, 48), p, 52])].map((b) => 1n << BigInt(b));
  const a32 = reach(state) < 1n << 64n;
  // an AArch32 guest stays below PARange: its stage-1 faults are not what this suite checks
  const limit = a32 && reach(state) > 1n << BigInt(p) ? 1n << BigInt(p) : reach(state);
  const s = span(host, ipaBits, region);
  const where: fc.Arbitrary<Where> = s
    ? whereIn(s[0], s[1])
    : fc.oneof(
        // just below or at a boundary
        { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...bounds), fc.integer({ min: -2, max: 1 }), fc.nat(0x7f)) },
        // inside the low slot or the page after it
        { weight: 2, arbitrary: fc.tuple(fc.constant(LOW_SLOT_GPA + page), fc.integer({ min: -1, max: 2 }), fc.nat(0x7f)) },
        // anywhere in 52 bits above the harness
        { weight: 2, arbitrary: fc.bigInt({ min: HARNESS_END, max: (1n << 52n) - 1n }).map((a): Where => [a, 0, 0]) },
      );
  const kindSize: fc.Arbitrary<{ kind: Access['kind']; wide: Access['size'] }> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom<Access['kind']>('load', 'store'), wide: fc.constantFrom(...ACCESS_SIZES) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'ifetch' as const, wide: 4 as const }) },
  );
  return fc
    .record({
      ks: kindSize,
      where,
      data: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      // shrinks to a valid syndrome: the simplest access
      syndromeValid: fc.oneof(
        { withCrossShrink: true },
        { weight: 4, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
    })
    .map(({ ks: { kind, wide }, where: [base, pages, off], data, syndromeValid }): Access => {
      // AArch32 has no single-register 64-bit access
      const size = a32 && wide === 8 ? 4 : wide;
      let ipa = base + BigInt(pages) * page + BigInt(off) * 8n;
      ipa &= ~BigInt(size - 1); // naturally aligned: the MMU is off, memory is Device
      if (ipa >= 1n << 64n) ipa = (1n << 64n) - BigInt(size);
      if (ipa >= limit) ipa = (ipa % limit) | HARNESS_END;
      if (ipa < HARNESS_END) ipa = HARNESS_END;
      const ifetch = kind === 'ifetch';
      return { kind, size, ipa, data: kind === 'store' ? data : 0n, syndromeValid: ifetch || syndromeValid };
    });
}
