// One KVM_SET_USER_MEMORY_REGION call in a sequence: slot ids, flags, guest
// addresses around 2^IPA, sizes and user addresses drawn from small pools, so
// that sequences create, delete (size 0), move (same slot, new address) and
// change flags (same slot, same address) often, with every bad field too.

import fc from 'fast-check';
import { pageSize } from '../../arch/host.ts';
import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from '../../arch/kvm.ts';
import { HARNESS_END } from '../../core/cases.ts';
import type { HostConfig, MemoryRegion } from '../../core/target.ts';

/** Two user addresses, far below any TASK_SIZE, so modifies can keep theirs. */
const U0 = 0x10_0000_0000n;
const U1 = 0x20_0000_0000n;

/** Flags: mostly none, often dirty logging and/or read-only, sometimes a bit arm64 does not know. */
export const memslotFlags: fc.Arbitrary<number> = fc.oneof(
  { weight: 8, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.constantFrom(KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY) },
  { weight: 1, arbitrary: fc.constantFrom(4, 8, 0x8000_0000) },
);

/** Guest addresses around 2^IPA, low in the IPA space, and a few bad ones. */
export function memslotGpa(host: HostConfig, ipaBits: number): fc.Arbitrary<bigint> {
  const page = pageSize(host.granule);
  const top = 1n << BigInt(ipaBits);
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: -4, max: 2 }).map((k) => top + BigInt(k) * page) },
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }).map((k) => HARNESS_END * 8n + BigInt(k) * page) },
    { weight: 1, arbitrary: fc.constantFrom(top - page / 2n, top * 2n, 1n << 48n, 1n << 52n, (1n << 64n) - page) },
  );
}

export function memslotOp(host: HostConfig, ipaBits: number): fc.Arbitrary<MemoryRegion> {
  const page = pageSize(host.granule);
  const slot = fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(511, 512, 32766, 32767, 0xffff, 0x10000, 0x10001) },
  );
  const flags = memslotFlags;
  const gpa = memslotGpa(host, ipaBits);
  const size = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }).map((k) => BigInt(k) * page) },
    { weight: 2, arbitrary: fc.constant(0n) },
    { weight: 1, arbitrary: fc.constantFrom(page / 2n, (1n << 31n) * page, ((1n << 31n) - 1n) * page, 1n << 63n) },
  );
  const uaddr = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(U0, U1) },
    { weight: 1, arbitrary: fc.constantFrom(U0 + 0x800n, U0 | (0x5an << 56n), 1n << 48n, 1n << 52n, 0xffff_8000_0000_0000n) },
  );
  return fc.record({ slot, flags, guestPhysAddr: gpa, memorySize: size, userspaceAddr: uaddr });
}
