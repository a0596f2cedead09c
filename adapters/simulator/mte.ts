// The VMM's address space and MTE: the VMAs mmap() makes (with the flags the arm64 mm code
// gives them), the host's tag storage, and the two places KVM looks at them for an MTE VM:
// kvm_arch_prepare_memory_region() and user_mem_abort() (arch/arm64/kvm/mmu.c), written
// after the C code, independently of the oracle.

import type { Errno } from '../../arch/errno.ts';
import type { BackingRequest, BackingResult } from '../../core/target.ts';
import type { SimKnobs } from './knobs.ts';

const VM_SHARED = 1 << 0;
const VM_PFNMAP = 1 << 1;
const VM_HUGETLB = 1 << 2;
const VM_MTE_ALLOWED = 1 << 3;

/** The MAIR index the VMA's page protection selects (pgprot). */
type MemAttr = 'normal' | 'device-nGnRnE';

export interface SimVma {
  readonly start: bigint;
  readonly end: bigint;
  readonly flags: number;
  readonly attr: MemAttr;
  /** the pages behind it have tag storage (RAM does; MMIO does not) */
  readonly tagStorage: boolean;
}

const HPAGE = 0x20_0000n;

/** A process's VMAs: mmap(), munmap(), find_vma_intersection(). */
export class AddressSpace {
  private vmas: SimVma[] = [];
  private next = 0x7000_0000_0000n;

  constructor(private readonly knobs: SimKnobs) {}

  /** mmap(): the flags the arm64 mm code computes for each kind of file or anonymous memory. */
  map(b: BackingRequest): BackingResult {
    let flags = b.shared ? VM_SHARED : 0;
    let attr: MemAttr = 'normal';
    let tagStorage = true;
    switch (b.kind) {
      case 'anon':
        // arch_calc_vm_flag_bits(): MAP_ANONYMOUS
        flags |= VM_MTE_ALLOWED;
        break;
      case 'memfd':
      case 'tmpfs':
        // shmem_mmap()
        flags |= VM_MTE_ALLOWED;
        break;
      case 'ramfs':
        // generic_file_mmap(): nothing arm64-specific
        break;
      case 'hugetlb':
        // hugetlbfs_file_mmap()
        flags |= VM_HUGETLB | (this.knobs.hugetlbfsMteAllowed ? VM_MTE_ALLOWED : 0);
        break;
      case 'pfnmap':
        // /dev/mem over MMIO: mmap_mem() -> remap_pfn_range(), phys_mem_access_prot() -> noncached
        if (!b.shared) return { unsupported: '/dev/mem is mapped MAP_SHARED only here' };
        flags |= VM_PFNMAP;
        attr = 'device-nGnRnE';
        tagStorage = false;
        break;
    }
    if (b.kind === 'hugetlb' && ((b.at ?? 0n) % HPAGE !== 0n || b.size % HPAGE !== 0n))
      return { unsupported: 'hugetlb needs 2 MiB alignment' };
    const start = b.at ?? this.reserve(b.size);
    if (b.at !== undefined) this.unmap(start, b.size); // MAP_FIXED replaces what was there
    this.vmas.push({ start, end: start + b.size, flags, attr, tagStorage });
    this.vmas.sort((x, y) => (x.start < y.start ? -1 : 1));
    return { uaddr: start };
  }

  unmap(start: bigint, size: bigint): void {
    const end = start + size;
    const out: SimVma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      if (v.start < start) out.push({ ...v, end: start });
      if (v.end > end) out.push({ ...v, start: end });
    }
    this.vmas = out;
  }

  /** find_vma_intersection() */
  intersecting(start: bigint, end: bigint): SimVma | undefined {
    return this.vmas.find((v) => v.start < end && start < v.end);
  }

  /** vma_lookup() */
  lookup(hva: bigint): SimVma | undefined {
    return this.vmas.find((v) => hva >= v.start && hva < v.end);
  }

  private reserve(size: bigint): bigint {
    const at = this.next;
    this.next += ((size + HPAGE - 1n) / HPAGE + 1n) * HPAGE;
    return at;
  }
}

/** The MTE state of one VM. */
export class SimMte {
  enabled = false;

  constructor(
    private readonly knobs: SimKnobs,
    private readonly hostMte: boolean,
    private readonly hostMtePerm: boolean,
  ) {}

  /** kvm_vm_ioctl_enable_cap(KVM_CAP_ARM_MTE) */
  enableCap(flags: number, createdVcpus: boolean): 0 | Errno {
    if (!this.knobs.mteCap) return 'EINVAL'; // default: r = -EINVAL
    if (flags !== 0) return 'EINVAL';
    if (!this.hostMte || (createdVcpus && this.knobs.mteCapAfterVcpu === 'einval')) return 'EINVAL';
    this.enabled = true;
    return 0;
  }

  /** kvm_vma_mte_allowed() (6.1: the caller's `vm_flags & VM_SHARED` test instead) */
  private allowed(v: SimVma): boolean {
    if (this.knobs.mteVmaCheck === 'vm-shared') return (v.flags & VM_SHARED) === 0;
    return (v.flags & VM_MTE_ALLOWED) !== 0;
  }

  /** seed 003: system_supports_notagaccess() */
  private notag(): boolean {
    return this.knobs.mteNoTagAccess === 'memattr' && this.hostMtePerm;
  }

  /** kvm_arch_prepare_memory_region(): the VMA walk over [hva, hva + size). */
  prepare(space: AddressSpace, hva: bigint, size: bigint): 0 | Errno {
    const end = hva + size;
    let at = hva;
    do {
      const vma = space.intersecting(at, end);
      if (!vma) break;
      if (this.enabled && !this.allowed(vma) && !this.notag()) return 'EINVAL';
      at = vma.end < end ? vma.end : end;
    } while (at < end);
    return 0;
  }

  /**
   * user_mem_abort() on a translation fault: EFAULT, or how the page is mapped
   * (tags: whether a tag access reaches tag storage, or faults to EL2 under NoTagAccess).
   */
  fault(space: AddressSpace, hva: bigint): Errno | { readonly device: boolean; readonly noTagAccess: boolean } {
    const vma = space.lookup(hva);
    if (!vma) return 'EFAULT'; // "Failed to find VMA for hva"
    const device = (vma.flags & VM_PFNMAP) !== 0 && vma.attr !== 'normal';
    let noTagAccess = false;
    if (this.enabled && (!device || !this.knobs.mteFaultSkipsDevice)) {
      // "Check the VMM hasn't introduced a new disallowed VMA"
      if (!this.allowed(vma)) {
        if (!this.notag()) return 'EFAULT';
        // PATCH 4/4: prot |= KVM_PGTABLE_PROT_NORMAL_NOTAGACCESS (a memory type: only for Normal)
        noTagAccess = true;
      }
    }
    return { device, noTagAccess };
  }
}
