// Backed memslots for an access case: at most one just below 2^N and one
// low in the IPA space, each possibly read-only. Always valid for the VM.

import fc from 'fast-check';
import { pageSize } from '../../arch/host.ts';
import { KVM_MEM_READONLY } from '../../arch/kvm.ts';
import { HARNESS_END } from '../../core/cases.ts';
import type { HostConfig, MemoryRegion } from '../../core/target.ts';

export const LOW_SLOT_GPA = HARNESS_END * 8n;

export function backedSlots(host: HostConfig, ipaBits: number): fc.Arbitrary<MemoryRegion[]> {
  const page = pageSize(host.granule);
  const top = 1n << BigInt(ipaBits);
  const slot = (id: number, gpa: (pages: bigint) => bigint) =>
    fc.record({ pages: fc.integer({ min: 1, max: 2 }), readonly: fc.boolean() }).map(
      ({ pages, readonly }): MemoryRegion => ({
        slot: id,
        flags: readonly ? KVM_MEM_READONLY : 0,
        guestPhysAddr: gpa(BigInt(pages)),
        memorySize: BigInt(pages) * page,
        userspaceAddr: 'auto',
      }),
    );
  return fc
    .tuple(
      fc.option(
        slot(0, (n) => top - n * page),
        { freq: 2 },
      ),
      fc.option(
        slot(1, () => LOW_SLOT_GPA),
        { freq: 2 },
      ),
    )
    .map(([a, b]) => [a, b].filter((s): s is MemoryRegion => s !== null));
}
