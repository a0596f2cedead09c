// An IPA size a VM asks for: any of 32..52, kept within what the host's
// PARange and granule can hold so that VM creation succeeds.

import fc from 'fast-check';
import { expressibleIpaBits } from '../../arch/host.ts';
import type { HostConfig } from '../../core/target.ts';

export function ipaBitsFor(host: HostConfig): fc.Arbitrary<number> {
  const max = Math.max(32, expressibleIpaBits(host));
  return fc.oneof({ weight: 1, arbitrary: fc.constantFrom(32, max) }, { weight: 3, arbitrary: fc.integer({ min: 32, max }) });
}
