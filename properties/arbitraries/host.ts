// A host: every PARange (reserved values too), granule, LPA2, kernel PA/VA bits and KVM mode.

import fc from 'fast-check';
import type { Granule, KvmMode } from '../../arch/host.ts';
import type { GenContext } from '../../core/property.ts';
import type { HostConfig } from '../../core/target.ts';

/** CONFIG_ARM64_VA_BITS choices per granule; 52 needs LPA2 on 4K/16K. */
const VA_BITS: Record<Granule, readonly number[]> = { 4: [39, 48, 52], 16: [36, 47, 48, 52], 64: [42, 48, 52] };

const parange = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(0, 1) }, // below the 40-bit default (an M1 has 36)
  { weight: 6, arbitrary: fc.integer({ min: 2, max: 6 }) },
  { weight: 1, arbitrary: fc.integer({ min: 7, max: 15 }) }, // reserved: a future CPU
);

export const anyHost: fc.Arbitrary<HostConfig> = fc
  .record({
    parange,
    granule: fc.constantFrom<Granule>(4, 16, 64),
    lpa2: fc.boolean(),
    kernelPaBits: fc.constantFrom<48 | 52>(48, 52),
    va: fc.nat(3),
    mode: fc.constantFrom<KvmMode>('vhe', 'nvhe', 'protected'),
  })
  .map(({ parange, granule, lpa2, kernelPaBits, va, mode }) => {
    const hasLpa2 = lpa2 && granule !== 64;
    const choices = VA_BITS[granule].filter((b) => b < 52 || hasLpa2 || granule === 64);
    return {
      parange,
      granule,
      lpa2: hasLpa2,
      kernelPaBits: hasLpa2 ? 52 : kernelPaBits,
      vaBits: choices[va % choices.length] ?? 48,
      mode,
    };
  });

/** The target's own host when it has one, else any host. */
export function hostArb(g: GenContext): fc.Arbitrary<HostConfig> {
  return g.info.host === 'any' ? anyHost : fc.constant(g.info.host);
}
