// An IPA size a VM asks for: any of 32..52, kept within what the host's
// PARange and granule can hold so that VM creation succeeds.

import fc from 'fast-check';
import { parangeBits } from '../../arch/host.ts';
import type { HostConfig } from '../../core/target.ts';

export function ipaBitsFor(host: HostConfig): fc.Arbitrary<number> {
  const pa = parangeBits(host.parange) ?? host.kernelPaBits;
  const granuleMax = host.granule === 64 || host.lpa2 ? 52 : 48;
  const max = Math.max(32, Math.min(pa, granuleMax));
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(32, max) },
    { weight: 3, arbitrary: fc.integer({ min: 32, max }) },
  );
}
