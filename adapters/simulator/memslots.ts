// __kvm_set_memory_region() and the arm64 kvm_arch_prepare_memory_region(),
// over a real slot table (virt/kvm/kvm_main.c, arch/arm64/kvm/mmu.c).

import type { Errno } from '../../arch/errno.ts';
import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_MAX_NR_PAGES, KVM_MEM_READONLY } from '../../arch/kvm.ts';
import type { MemoryRegion } from '../../core/target.ts';
import type { SimKnobs } from './knobs.ts';

const KVM_ADDRESS_SPACE_NUM = 1;
const U64 = (1n << 64n) - 1n;

export interface MemSlot {
  readonly id: number;
  baseGfn: bigint;
  readonly npages: bigint;
  flags: number;
  readonly userspaceAddr: bigint;
}

type Change = 'create' | 'delete' | 'move' | 'flags-only';

export interface SlotContext {
  readonly pageShift: number;
  /** TASK_SIZE_MAX of the VMM process */
  readonly taskSize: bigint;
  /** kvm_phys_size(kvm) */
  readonly physSize: bigint;
  readonly knobs: SimKnobs;
  /** the VMA walk of kvm_arch_prepare_memory_region (MTE), over [hva, hva + size) */
  readonly vmaWalk?: (hva: bigint, size: bigint) => 0 | Errno;
}

export class Memslots {
  private readonly byId = new Map<number, MemSlot>();

  /** gfn_to_memslot() */
  find(gfn: bigint): MemSlot | undefined {
    for (const s of this.byId.values()) if (gfn >= s.baseGfn && gfn < s.baseGfn + s.npages) return s;
    return undefined;
  }

  all(): IterableIterator<MemSlot> {
    return this.byId.values();
  }

  /** Returns 0 or an errno; `onChange` lets the VM zap stage-2 mappings of moved/deleted slots. */
  set(mem: MemoryRegion, uaddr: bigint, ctx: SlotContext, onChange: (old: MemSlot) => void): 0 | Errno {
    const pageMask = (1n << BigInt(ctx.pageShift)) - 1n;

    // check_memory_region_flags()
    const validFlags = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
    if (mem.flags & ~validFlags) return 'EINVAL';

    const asId = mem.slot >>> 16;
    const id = mem.slot & 0xffff;

    // General sanity checks
    if ((mem.memorySize & pageMask) !== 0n || mem.memorySize !== (mem.memorySize & U64)) return 'EINVAL';
    if ((mem.guestPhysAddr & pageMask) !== 0n) return 'EINVAL';
    // We can read the guest memory with __xxx_user() later on.
    if ((uaddr & pageMask) !== 0n || uaddr !== untaggedAddr(uaddr) || !accessOk(uaddr, mem.memorySize, ctx.taskSize)) {
      return 'EINVAL';
    }
    if (asId >= KVM_ADDRESS_SPACE_NUM || id >= ctx.knobs.userMemSlots) return 'EINVAL';
    if (((mem.guestPhysAddr + mem.memorySize) & U64) < mem.guestPhysAddr) return 'EINVAL';
    if (mem.memorySize >> BigInt(ctx.pageShift) > KVM_MEM_MAX_NR_PAGES) return 'EINVAL';

    const old = this.byId.get(id);

    if (mem.memorySize === 0n) {
      if (!old || old.npages === 0n) return ctx.knobs.deleteMissingSlot === 'einval' ? 'EINVAL' : 0;
      onChange(old);
      this.byId.delete(id);
      return 0;
    }

    const baseGfn = mem.guestPhysAddr >> BigInt(ctx.pageShift);
    const npages = mem.memorySize >> BigInt(ctx.pageShift);
    let change: Change;

    if (!old || old.npages === 0n) {
      change = 'create';
    } else {
      // Modify an existing slot.
      if (uaddr !== old.userspaceAddr || npages !== old.npages) return 'EINVAL';
      if (((mem.flags ^ old.flags) & KVM_MEM_READONLY) !== 0 && ctx.knobs.readonlyToggle === 'einval') return 'EINVAL';
      if (baseGfn !== old.baseGfn) change = 'move';
      else if (mem.flags !== old.flags) change = 'flags-only';
      else return 0; // Nothing to change.
    }

    const overlap = (change === 'create' || change === 'move') && this.overlaps(id, baseGfn, baseGfn + npages);
    if (overlap && ctx.knobs.overlapCheck === 'before-arch-prepare') return 'EEXIST';

    const r = prepareMemoryRegion(baseGfn, npages, change, uaddr, ctx);
    if (r !== 0) return r;
    if (overlap) return 'EEXIST';

    if (change === 'create') {
      this.byId.set(id, { id, baseGfn, npages, flags: mem.flags, userspaceAddr: uaddr });
    } else if (old) {
      onChange(old);
      old.baseGfn = baseGfn;
      old.flags = mem.flags;
    }
    return 0;
  }

  /** kvm_check_memslot_overlap() */
  private overlaps(id: number, start: bigint, end: bigint): boolean {
    for (const s of this.byId.values()) {
      if (s.id === id) continue;
      if (start < s.baseGfn + s.npages && s.baseGfn < end) return true;
    }
    return false;
  }
}

/** arm64 kvm_arch_prepare_memory_region(): the slot must fit the IPA space. */
function prepareMemoryRegion(baseGfn: bigint, npages: bigint, change: Change, uaddr: bigint, ctx: SlotContext): 0 | Errno {
  if (change !== 'create' && change !== 'move' && change !== 'flags-only') return 0;
  const limit = ctx.physSize >> BigInt(ctx.pageShift);
  const end = baseGfn + npages;
  if (ctx.knobs.memslotBoundCompare === 'gt' ? end > limit : end >= limit) return 'EFAULT';
  // the VMA walk (MTE; PFNMAP + dirty log is not modelled)
  return ctx.vmaWalk ? ctx.vmaWalk(uaddr, npages << BigInt(ctx.pageShift)) : 0;
}

/** arm64 untagged_addr(): sign-extend from bit 55 (user addresses: clear the top byte). */
function untaggedAddr(addr: bigint): bigint {
  return (addr & (1n << 55n)) !== 0n ? addr | (0xffn << 56n) : addr & ((1n << 56n) - 1n);
}

/** arm64 access_ok(): the range lies below TASK_SIZE_MAX. */
function accessOk(addr: bigint, size: bigint, taskSize: bigint): boolean {
  return size <= taskSize && addr <= taskSize - size;
}
