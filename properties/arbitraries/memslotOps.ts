// A sequence of KVM_SET_USER_MEMORY_REGION calls: fresh calls (memslotOp) and
// calls derived from an earlier one of the sequence: the same slot moved,
// its flags changed (KVM_MEM_READONLY toggles included), deleted, or issued
// again unchanged, or another slot laid over it (a page or two off, a page or
// two longer). Derived calls keep the slot's user address and size, so the
// kernel's modify rules (move, flags-only, no-op, the READONLY check) and the
// overlap check (EEXIST before the IPA bound's EFAULT) are reached often, not
// by chance.

import fc from 'fast-check';
import { pageSize } from '../../arch/host.ts';
import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from '../../arch/kvm.ts';
import type { HostConfig, MemoryRegion } from '../../core/target.ts';
import { memslotGpa, memslotOp } from './memslotOp.ts';

const U64 = (1n << 64n) - 1n;

type Derived = {
  /** the earlier call it derives from: -1 the one just before, else an index (modulo the calls so far) */
  readonly from: number;
  readonly change: 'move' | 'flags' | 'delete' | 'again' | 'overlap';
  readonly gpa: bigint;
  readonly flags: number;
  /** overlap: the other slot id (base + other) when 0..3 are all taken, the page offset and the extra pages */
  readonly other: number;
  readonly offset: number;
  readonly longer: number;
};
type Step = { readonly fresh: MemoryRegion } | Derived;

export function memslotOps(host: HostConfig, ipaBits: number, maxLength = 6): fc.Arbitrary<MemoryRegion[]> {
  const page = pageSize(host.granule);
  const top = 1n << BigInt(ipaBits);
  // a well-formed slot that ends at or just below 2^IPA: the neighbour the bound and overlap rules need
  const belowTop = fc
    .record({
      // the highest ids arm64 has had and has (KVM_USER_MEM_SLOTS 512, then SHRT_MAX)
      slot: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(511, 512, 32766) }),
      flags: fc.constantFrom(0, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY),
      gap: fc.integer({ min: 0, max: 2 }),
      pages: fc.integer({ min: 1, max: 3 }),
    })
    .map(
      ({ slot, flags, gap, pages }): MemoryRegion => ({
        slot,
        flags,
        guestPhysAddr: top - BigInt(gap + pages) * page,
        memorySize: BigInt(pages) * page,
        userspaceAddr: 0x10_0000_0000n,
      }),
    );
  const op = fc.oneof({ weight: 3, arbitrary: memslotOp(host, ipaBits) }, { weight: 1, arbitrary: belowTop });
  const fresh = op.map((r): Step => ({ fresh: r }));
  const derived = fc.record({
    // mostly the call just before (-1), else any earlier one
    from: fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(maxLength - 1) }),
    change: fc.constantFrom<Derived['change']>('move', 'flags', 'delete', 'again', 'overlap', 'overlap'),
    gpa: memslotGpa(host, ipaBits),
    // XORed into the flags of the call it derives from: every value is a change
    flags: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY) },
      { weight: 1, arbitrary: fc.constantFrom(4, 0x8000_0000) },
    ),
    other: fc.integer({ min: 1, max: 3 }),
    offset: fc.integer({ min: -1, max: 2 }),
    longer: fc.integer({ min: 0, max: 2 }),
  });
  const step = fc.oneof({ weight: 1, arbitrary: fresh }, { weight: 1, arbitrary: derived });
  return fc.tuple(op, fc.array(step, { maxLength: maxLength - 1 })).map(([first, rest]) => {
    const ops: MemoryRegion[] = [first];
    for (const s of rest) {
      if ('fresh' in s) {
        ops.push(s.fresh);
        continue;
      }
      const base = ops[s.from < 0 ? ops.length - 1 : s.from % ops.length] as MemoryRegion;
      if (s.change === 'move') ops.push({ ...base, guestPhysAddr: s.gpa });
      // flags changed: toggle dirty logging and/or READONLY, or set a bit arm64 does not know
      else if (s.change === 'flags') ops.push({ ...base, flags: (base.flags ^ s.flags) >>> 0 });
      else if (s.change === 'delete') ops.push({ ...base, memorySize: 0n });
      else if (s.change === 'again') ops.push(base);
      else {
        ops.push({
          ...base,
          // a slot id the sequence has not used yet (a create, not a modify), else another small one
          slot: [0, 1, 2, 3].find((id) => !ops.some((o) => o.slot === id)) ?? (base.slot + s.other) & 3,
          // the ioctl's fields are u64: wrap as C would
          guestPhysAddr: (base.guestPhysAddr + BigInt(s.offset) * page) & U64,
          memorySize: (base.memorySize + BigInt(s.longer) * page) & U64,
          userspaceAddr: 0x30_0000_0000n,
        });
      }
    }
    return ops;
  });
}
