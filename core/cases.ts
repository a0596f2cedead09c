// Cases and outcomes, family by family: what a generator makes, what the
// oracle expects and what an adapter observes. Expectation and observation of
// a family share one type, so one comparison yields the verdict.

import type { Errno } from '../arch/errno.ts';
import type { BackingKind, BootConfig, El2Layout, GuestState, HostConfig, MemoryRegion, PhysRange, RunOutcome, Access } from './target.ts';
import type { KvmMode } from '../arch/host.ts';

// --- vm-create -------------------------------------------------------------

export interface IpaLimitCase {
  readonly host: HostConfig;
}
export interface IpaLimitOutcome {
  /** KVM_CHECK_EXTENSION(KVM_CAP_ARM_VM_IPA_SIZE) */
  readonly ipaLimit: number;
}

export interface VmCreateCase {
  readonly host: HostConfig;
  /** KVM_CREATE_VM type word */
  readonly type: bigint;
}

/**
 * firstAccess: a load from a backed page just above the harness area. It completes, or hangs (an IPA size
 * the stage-2 walk cannot start); anything else is an outcome too, compared exactly: KVM_RUN failing with
 * an errno (seen when pKVM's forced IPA size is taken out), or the run ending in another way.
 */
export type FirstAccess =
  | 'completed'
  | 'hang'
  | { readonly kind: 'run-errno'; readonly errno: Errno }
  | { readonly kind: 'other'; readonly outcome: string };

export type VmCreateOutcome =
  | { readonly result: 'created'; readonly ipaBits: number; readonly firstAccess: FirstAccess }
  | { readonly result: 'errno'; readonly errno: Errno };

// --- memslot ---------------------------------------------------------------

export interface MemslotCase {
  readonly host: HostConfig;
  /** a type word the VM is created with (always valid for the host) */
  readonly vmType: bigint;
  readonly ops: readonly MemoryRegion[];
}

export type SlotResult = 'ok' | Errno;

export interface MemslotOutcome {
  /** KVM_CREATE_VM with vmType (generators make it succeed) */
  readonly vm: SlotResult;
  readonly results: readonly SlotResult[];
}

// --- encoding --------------------------------------------------------------

export interface EncodingRoundTripCase {
  readonly host: HostConfig;
  readonly ipaBits: number;
}

// --- abort -----------------------------------------------------------------

export interface AccessCase {
  readonly host: HostConfig;
  /** the VM's IPA size; the type word is KVM_VM_TYPE_ARM_IPA_SIZE(ipaBits) */
  readonly ipaBits: number;
  /** backed memslots (userspaceAddr 'auto'); flags may carry KVM_MEM_READONLY */
  readonly slots: readonly MemoryRegion[];
  readonly state: GuestState;
  readonly access: Access;
  readonly nisvToUser: boolean;
}

export interface AccessOutcome {
  /** KVM_CREATE_VM for the requested size */
  readonly vm: 'ok' | Errno;
  readonly outcome?: RunOutcome;
}

/**
 * abort/reuse-equivalence: a probe access run on a VM that earlier cases used and gave
 * back (a target that reuses VMs, core/target.ts createVm), against the same probe on a fresh VM.
 * Every prior case has the probe's host, IPA size, NISV choice and register width (its reuse key).
 */
export interface ReuseCase {
  readonly prior: readonly AccessCase[];
  readonly probe: AccessCase;
}

export interface ReuseOutcome {
  readonly probe: AccessOutcome;
  /** the probe ran on a VM the prior cases had used */
  readonly onReusedVm: boolean;
}

/**
 * The harness every target runs accesses with (the real helper and the
 * simulator alike): a code slot at IPA 0 whose first page holds the vectors
 * and the access stubs (the only page the guest touches before the access),
 * and unbacked report addresses up to HARNESS_END. Cases stay above it.
 * HARNESS_SLOT is that code slot's memslot id in the models (a case's own slots
 * use other ids). The map is written once, in core/harness.ts.
 */
export { HARNESS_CODE_SIZE, HARNESS_END, HARNESS_SLOT } from './harness.ts';
/** The page vm-create's first access loads from (inside every IPA size). */
export const FIRST_ACCESS_IPA = 0x100000n;

// --- layout (seed 001) -------------------------------------------------------

export interface LayoutCase {
  /** granule, VA bits (vabits_actual from vaBits, LPA2/PARange) and KVM mode */
  readonly host: HostConfig;
  /** the boot to lay out; 'own': the one a real target made (QEMU_VIRT_BOOT assumed by the oracle) */
  readonly boot: BootConfig | 'own';
}

/** Everything the layout rules decide for a boot. */
export interface LayoutOutcome {
  readonly linearCap51: boolean;
  /** DRAM the kernel keeps and drops (arm64_memblock_init), merged ranges */
  readonly kept: readonly PhysRange[];
  readonly dropped: readonly PhysRange[];
  readonly el2: El2Layout;
}

/** The thread's requirement alone: kept DRAM EL2 cannot map (nVHE/protected; VHE maps all). */
export interface El2MappableOutcome {
  readonly unmappable: readonly PhysRange[];
}

/** What a real kernel's boot log shows. */
export interface BootLogOutcome {
  readonly kvm: KvmMode | 'failed';
  readonly linearCap51: boolean;
}

/**
 * The boot a QEMU `virt` target makes (the kvm adapter's -m 1G): one bank of 1 GiB at
 * 1 GiB, the image loaded low in it. The oracle assumes it for boot 'own'.
 */
export const QEMU_VIRT_BOOT: BootConfig = {
  banks: [{ base: 0x4000_0000n, size: 0x4000_0000n }],
  kernel: { base: 0x4020_0000n, size: 0x200_0000n },
  idmapOffset: 0x100_0000n,
  privateBytes: 0x10_0000n,
  tag: 0n,
};

// --- mte (seed 003) ------------------------------------------------------------

/** What backs a memslot (BackingKind, core/target.ts), and how it is mapped. */
export interface Backing {
  readonly kind: BackingKind;
  /** MAP_SHARED (VM_SHARED) or MAP_PRIVATE */
  readonly shared: boolean;
}

/**
 * How the VMM asks for KVM_CAP_ARM_MTE: not at all, before the first vCPU, after one
 * exists (a run made first), twice before any vCPU, or with flags != 0.
 */
export const MTE_CAP_PLANS = ['none', 'before-vcpu', 'after-vcpu', 'twice', 'bad-flags'] as const;
export type MteCapPlan = (typeof MTE_CAP_PLANS)[number];

/** The guest's access to an mte-family slot: a load, a store, or an LDG (tag load; simulator only). */
export const MTE_ACCESSES = ['load', 'store', 'tag-load'] as const;

export interface MteCase {
  readonly host: HostConfig;
  /** the host has FEAT_MTE2 (KVM_CAP_ARM_MTE reports 1) */
  readonly hostMte: boolean;
  /** the host has FEAT_MTE_PERM (stage-2 NoTagAccess); invisible to userspace */
  readonly mtePerm: boolean;
  readonly cap: MteCapPlan;
  /** the memslot's backing (MTE_SLOT_SIZE bytes at MTE_SLOT_GPA) */
  readonly backing: Backing;
  /** the VMM replaces the mapping (MAP_FIXED, same address) after the memslot is made, before the access */
  readonly remap: Backing | null;
  /** the guest's access to the slot (MTE_ACCESSES) */
  readonly access: (typeof MTE_ACCESSES)[number];
}

/** The proposal's KVM_EXIT_ARM_NOTAG_ACCESS (seed 003: exit_reason 40, gpa and size). */
export type NoTagExit = Extract<RunOutcome, { readonly kind: 'notag-access' }>;

export interface MteOutcome {
  /** every KVM_ENABLE_CAP(KVM_CAP_ARM_MTE), in order */
  readonly enable: readonly SlotResult[];
  /** KVM_SET_USER_MEMORY_REGION of the slot */
  readonly memslot: SlotResult;
  /** KVM_RUN on the access (null when the memslot was refused) */
  readonly run: RunOutcome | null;
}

/** The slot every mte case makes: 2 MiB (a hugetlb page on 4K) at 4 MiB, inside every IPA size. */
export const MTE_SLOT = 3;
export const MTE_SLOT_GPA = 0x40_0000n;
export const MTE_SLOT_SIZE = 0x20_0000n;
/** The VM type of every mte case: KVM_VM_TYPE_ARM_IPA_SIZE(32), valid on every host. */
export const MTE_VM_TYPE = 32n;
/** An unbacked address whose access creates the vCPU first (cap plan 'after-vcpu'). */
export const MTE_WARMUP_IPA = 0x30_0000n;
