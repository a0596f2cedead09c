// Hosts for the layout family: 48- or 52-bit VA kernels (52 bits only where the CPU has
// them: LPA2 on 4K/16K, LVA on 64K) with 52-bit PA, every granule and KVM mode. A
// target with a fixed host gets its own.

import fc from 'fast-check';
import type { Granule, KvmMode } from '../../arch/host.ts';
import type { GenContext } from '../../core/property.ts';
import type { HostConfig } from '../../core/target.ts';

export const layoutHost: fc.Arbitrary<HostConfig> = fc
  .record({
    vaBits: fc.constantFrom<48 | 52>(52, 48),
    granule: fc.constantFrom<Granule>(4, 64, 16),
    mode: fc.constantFrom<KvmMode>('nvhe', 'vhe', 'protected'),
  })
  .map(({ vaBits, granule, mode }) => ({ parange: 6, granule, lpa2: granule !== 64, kernelPaBits: 52 as const, vaBits, mode }));

export function layoutHostArb(g: GenContext): fc.Arbitrary<HostConfig> {
  return g.info.host === 'any' ? layoutHost : fc.constant(g.info.host);
}
