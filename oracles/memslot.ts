// KVM_SET_USER_MEMORY_REGION on arm64, as a fold over a sequence of calls.
// The checks run in the kernel's order so the errno is exact: generic checks
// of __kvm_set_memory_region first, the arm64 IPA bound last.

import { pageShift, pageSize } from '../arch/host.ts';
import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_MAX_NR_PAGES, KVM_MEM_READONLY } from '../arch/kvm.ts';
import type { MemslotCase, MemslotOutcome, SlotResult } from '../core/cases.ts';
import type { HostConfig, MemoryRegion } from '../core/target.ts';
import type { Profile } from './profiles.ts';
import { vmCreate } from './vmCreate.ts';

/** arm64 has one address space */
const ADDRESS_SPACE_NUM = 1n;

interface Slot {
  readonly baseGfn: bigint;
  readonly npages: bigint;
  readonly flags: number;
  readonly uaddr: bigint;
}

/** User VA size the kernel's access_ok() allows: TASK_SIZE_MAX. */
function taskSize(host: HostConfig): bigint {
  return 1n << BigInt(host.vaBits >= 52 ? 52 : 48);
}

/** One call against the slot table; returns the result and the new table. */
export function setMemoryRegion(
  slots: ReadonlyMap<number, Slot>,
  r: MemoryRegion,
  host: HostConfig,
  ipaBits: number,
  p: Profile,
): { result: SlotResult; slots: ReadonlyMap<number, Slot> } {
  /** the call's result with the slots unchanged (an error, or 'ok' for a modify that changes nothing) */
  const unchanged = (e: SlotResult) => ({ result: e, slots });
  const ps = pageSize(host.granule);
  const shift = BigInt(pageShift(host.granule));
  const uaddr = r.userspaceAddr === 'auto' ? 0n : r.userspaceAddr;

  // check_memory_region_flags: arm64 knows dirty logging and read-only slots
  if ((r.flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)) !== 0) return unchanged('EINVAL');
  // general sanity: size, guest address and user address page aligned; user address untagged and below TASK_SIZE
  if ((r.memorySize & (ps - 1n)) !== 0n) return unchanged('EINVAL');
  if ((r.guestPhysAddr & (ps - 1n)) !== 0n) return unchanged('EINVAL');
  if (r.userspaceAddr !== 'auto') {
    if ((uaddr & (ps - 1n)) !== 0n) return unchanged('EINVAL');
    if (uaddr >> 56n !== 0n) return unchanged('EINVAL'); // untagged_addr() differs
    if (r.memorySize > taskSize(host) || uaddr > taskSize(host) - r.memorySize) return unchanged('EINVAL');
  }
  const asId = BigInt(r.slot) >> 16n;
  const id = r.slot & 0xffff;
  if (asId >= ADDRESS_SPACE_NUM || id >= p.memslotIds) return unchanged('EINVAL');
  // wrap of guest_phys_addr + memory_size (64-bit)
  if (r.guestPhysAddr + r.memorySize >= 1n << 64n) return unchanged('EINVAL');
  if (r.memorySize >> shift > KVM_MEM_MAX_NR_PAGES) return unchanged('EINVAL');

  const old = slots.get(id);
  const next = new Map(slots);
  if (r.memorySize === 0n) {
    // delete: only an existing slot
    if (!old) return unchanged('EINVAL');
    next.delete(id);
    return { result: 'ok', slots: next };
  }
  const baseGfn = r.guestPhysAddr >> shift;
  const npages = r.memorySize >> shift;
  let change: 'create' | 'move' | 'flags';
  if (!old) {
    change = 'create';
  } else {
    // modify: same user address and size; KVM_MEM_READONLY cannot change
    if (uaddr !== old.uaddr || npages !== old.npages || ((r.flags ^ old.flags) & KVM_MEM_READONLY) !== 0) {
      return unchanged('EINVAL');
    }
    if (baseGfn !== old.baseGfn) change = 'move';
    else if (r.flags !== old.flags) change = 'flags';
    else return unchanged('ok'); // nothing to change
  }
  if (change !== 'flags') {
    for (const [sid, s] of slots) {
      if (sid === id) continue;
      if (baseGfn < s.baseGfn + s.npages && s.baseGfn < baseGfn + npages) return unchanged('EEXIST');
    }
  }
  // kvm_arch_prepare_memory_region: the slot must end inside 2^IPA
  const limitGfn = (1n << BigInt(ipaBits)) >> shift;
  const end = baseGfn + npages;
  // seed 000 "[PATCH] KVM: arm64: Cap default IPA size to the host's own size" (linux-arm-kernel); 262b003d059c made the bound exclusive: before it, a slot ending exactly at 2^IPA was refused
  const beyond = p.memslotBound === 'exclusive' ? end > limitGfn : end >= limitGfn;
  if (beyond) return unchanged('EFAULT');
  next.set(id, { baseGfn, npages, flags: r.flags, uaddr });
  return { result: 'ok', slots: next };
}

export function memslots(c: MemslotCase, p: Profile): MemslotOutcome {
  const vm = vmCreate({ host: c.host, type: c.vmType }, p);
  if (vm.result !== 'created') return { vm: vm.errno, results: [] };
  let slots: ReadonlyMap<number, Slot> = new Map();
  const results: SlotResult[] = [];
  for (const op of c.ops) {
    const r = setMemoryRegion(slots, op, c.host, vm.ipaBits, p);
    results.push(r.result);
    slots = r.slots;
  }
  return { vm: 'ok', results };
}
