// The one interface every target implements: a KVM seen through its ioctls.
// Properties never talk to a target directly; properties/observe/ turns a case
// into calls on this interface and the results into an observation.
//
// Calls may be issued without awaiting the previous one (pipelining): a VM
// handle is usable as soon as createVm() returns it, and a call on a VM whose
// creation failed resolves to { errno: 'EBADF' }.

import type { Granule, KvmMode } from '../arch/host.ts';
import type { Errno } from '../arch/errno.ts';

/** The host as the rules see it: what KVM_CAP_ARM_VM_IPA_SIZE is computed from. */
export interface HostConfig {
  /** ID_AA64MMFR0_EL1.PARange, raw 4-bit field (0..6 defined; 7+ reserved). */
  readonly parange: number;
  readonly granule: Granule;
  /** FEAT_LPA2 present and enabled by the kernel (4K/16K only). */
  readonly lpa2: boolean;
  /** The kernel's CONFIG_ARM64_PA_BITS (PHYS_MASK_SHIFT): 48 or 52. */
  readonly kernelPaBits: 48 | 52;
  /** The kernel's CONFIG_ARM64_VA_BITS (sets the stage-1 levels v4.20 clamped against). */
  readonly vaBits: number;
  readonly mode: KvmMode;
}

/** What a target reports about itself (the `target` object of summary.json). */
export interface TargetInfo {
  readonly kind: 'sim' | 'qemu' | 'native' | 'ssh';
  /** The --target string it was opened with. */
  readonly spec: string;
  readonly kernelRelease?: string;
  /** the upstream release it builds ("5.10.223"): /proc/version or the release string */
  readonly kernelVersion?: string;
  /** where the kernel came from (real targets) */
  readonly kernel?: KernelRecord;
  /** the emulator a QEMU target ran under */
  readonly emulator?: EmulatorRecord;
  readonly cpu?: string;
  readonly mode?: KvmMode;
  /** KVM_CAP_ARM_VM_IPA_SIZE as observed (absent on the simulator: it varies per case). */
  readonly ipaLimit?: number;
  /** ID_AA64MMFR0_EL1.PARange the guest sees, raw field. */
  readonly parange?: number;
  /** Boot time in ms for targets that boot (QEMU). */
  readonly bootMs?: number;
  /** Capabilities the target offers, by KVM_CAP_* number → KVM_CHECK_EXTENSION value. */
  readonly caps?: Readonly<Record<number, number>>;
  /**
   * The host is fixed (real targets) or any HostConfig can be simulated.
   * A fixed host makes generators pin the host to this value.
   */
  readonly host: HostConfig | 'any';
  /** Things the target cannot do, each a reason a property is skipped. */
  readonly cannot?: Readonly<Partial<Record<Capability, string>>>;
}

/** summary.json's target.kernel: pinned Debian packages, or a path with its sha256. */
export interface KernelRecord {
  readonly name: string;
  readonly suite?: string;
  readonly packages?: readonly { readonly package: string; readonly version: string; readonly sha256: string }[];
  readonly path?: string;
  readonly sha256?: string;
  /** the config the page size, PA and VA bits were read from */
  readonly config?: string;
  /** getpagesize() in the running kernel */
  readonly pageSize?: number;
  readonly procVersion?: string;
  /** --allow-newer replaced the pin */
  readonly newerThanPin?: boolean;
}

/** summary.json's target.emulator: which QEMU, and exactly how it was started (temporary paths elided). */
export interface EmulatorRecord {
  readonly name: string;
  readonly binary: string;
  /** `qemu-system-aarch64 --version`, first line */
  readonly version: string;
  readonly packages?: readonly { readonly package: string; readonly version: string; readonly sha256: string }[];
  readonly command: readonly string[];
}

/** Optional abilities a property may need; a target lacking one makes it skip. */
export type Capability =
  | 'aarch32'
  | 'nisv'
  | 'hang'
  | 'host-any'
  | 'mte'
  // mte family: backing kinds a target may be unable to make (no hugetlb pages, no /dev/mem, …)
  | 'backing-memfd'
  | 'backing-tmpfs'
  | 'backing-ramfs'
  | 'backing-hugetlb'
  | 'backing-pfnmap';

/** One KVM_SET_USER_MEMORY_REGION call. `userspaceAddr: 'auto'` = target allocates backing memory. */
export interface MemoryRegion {
  readonly slot: number;
  readonly flags: number;
  readonly guestPhysAddr: bigint;
  readonly memorySize: bigint;
  readonly userspaceAddr: bigint | 'auto';
}

/** Guest execution state for an access. */
export type GuestState = 'el1h' | 'el1t' | 'el0' | 'a32-lpae' | 'a32-short';

export interface Access {
  readonly kind: 'load' | 'store' | 'ifetch';
  /** bytes: 1, 2, 4, 8 (ifetch: 4). */
  readonly size: 1 | 2 | 4 | 8;
  readonly ipa: bigint;
  /** value stored (store only) */
  readonly data: bigint;
  /** false: an access whose abort carries no valid syndrome (ESR_EL2.ISV = 0). */
  readonly syndromeValid: boolean;
}

/** What one KVM_RUN sequence for an access ended in. */
export type RunOutcome =
  | { readonly kind: 'completed'; readonly value?: bigint }
  | {
      readonly kind: 'mmio';
      readonly physAddr: bigint;
      readonly len: number;
      readonly isWrite: boolean;
      readonly data: bigint;
    }
  | { readonly kind: 'nisv'; readonly esrIss: bigint; readonly faultIpa: bigint }
  | { readonly kind: 'run-errno'; readonly errno: Errno }
  | {
      readonly kind: 'exception';
      /** offset from VBAR_EL1 (AArch32: from the vector base). */
      readonly vector: number;
      /** ESR_EL1 (AArch32: DFSR/IFSR as read back). */
      readonly esr: bigint;
      /** FAR_EL1 (AArch32: DFAR/IFAR). */
      readonly far: bigint;
    }
  | { readonly kind: 'hang' }
  /** seed 003's proposed KVM_EXIT_ARM_NOTAG_ACCESS: a tag access to a NoTagAccess page (never from mainline) */
  | { readonly kind: 'notag-access'; readonly gpa: bigint; readonly size: bigint };

export interface RunRequest {
  readonly state: GuestState;
  readonly access: Access;
  /** KVM_CAP_ARM_NISV_TO_USER enabled for this VM */
  readonly nisvToUser: boolean;
  /** ms before a KVM_RUN that has not returned is called a hang */
  readonly budgetMs?: number;
  /** the access is an LDG (tag load) at access.ipa instead (mte family; targets without it throw) */
  readonly tagAccess?: boolean;
}

export type Result<T> = T | { readonly errno: Errno };

/** Memory the VMM maps for a memslot (mte family): what backs it, and where (MAP_FIXED when `at` is given). */
export interface BackingRequest {
  readonly kind: 'anon' | 'memfd' | 'tmpfs' | 'ramfs' | 'hugetlb' | 'pfnmap';
  readonly shared: boolean;
  readonly size: bigint;
  readonly at?: bigint;
}

export type BackingResult = { readonly uaddr: bigint } | { readonly unsupported: string };

export interface VmHandle {
  /** the target handed back a VM an earlier case used (createVm with a reuse key), not a fresh one */
  readonly reused?: boolean;
  /** Map VMM memory of a kind (absent on targets that cannot). */
  mapBacking?(b: BackingRequest): Promise<BackingResult>;
  unmapBacking?(uaddr: bigint, size: bigint): Promise<void>;
  setMemoryRegion(region: MemoryRegion): Promise<{ readonly errno: Errno | null }>;
  /** KVM_ENABLE_CAP; flags (struct kvm_enable_cap.flags) 0 unless given */
  enableCap(cap: number, args: readonly bigint[], flags?: number): Promise<{ readonly errno: Errno | null }>;
  run(req: RunRequest): Promise<RunOutcome>;
  destroy(): Promise<void>;
}

/** A range of physical addresses (bytes). */
export interface PhysRange {
  readonly base: bigint;
  readonly size: bigint;
}

/**
 * How a host boots, as far as the EL2 layout is concerned (seed 001): the DRAM banks
 * the firmware describes, where the kernel image sits (EFI allocates it top-down), the
 * offset of the hyp ID map page in the image, how much private EL2 VA space KVM asks
 * for, and the random long kvm_compute_layout() draws for the hyp VA tag.
 */
export interface BootConfig {
  readonly banks: readonly PhysRange[];
  readonly kernel: PhysRange;
  readonly idmapOffset: bigint;
  readonly privateBytes: bigint;
  readonly tag: bigint;
}

/** How KVM's EL2 init ended on an nVHE/protected host. */
export type HypInit = 'ok' | 'idmap-intersects-hyp-va' | 'hyp-va-range' | 'private-va-exhausted';

/** The EL2 address space: VHE runs on the kernel's own tables; nVHE/protected get their own layout. */
export type El2Layout =
  | { readonly kind: 'vhe' }
  | {
      readonly kind: 'hyp';
      readonly init: HypInit;
      /** TCR_EL2.T0SZ as VA bits */
      readonly hypVaBits: number;
      /** DRAM the kernel keeps whose hyp alias lies beyond the EL2 VA space */
      readonly unmappable: readonly PhysRange[];
      /** the ID map page lies in the hyp linear range */
      readonly idmapInLinear: boolean;
      /** the private VA range (grown down from the ID map) meets the hyp linear range */
      readonly privateInLinear: boolean;
    };

/**
 * What a target reports about how its kernel laid out memory and EL2 at boot. The
 * simulator boots any BootConfig and reports everything; a real target has booted
 * once and reports what its boot log shows (kvm, linearCap51, kmsg) for its own boot.
 */
export interface HypLayoutReport {
  /** the mode KVM initialised in, or 'failed' */
  readonly kvm: KvmMode | 'failed';
  /** "Capping linear region to 51 bits for KVM in nVHE mode on LVA capable hardware." */
  readonly linearCap51: boolean;
  readonly kept?: readonly PhysRange[];
  readonly dropped?: readonly PhysRange[];
  readonly el2?: El2Layout;
  readonly kmsg?: readonly string[];
}

/** CPU features outside HostConfig that only the mte family varies. */
export interface CpuFeatures {
  /** FEAT_MTE2: KVM_CAP_ARM_MTE can be enabled */
  readonly mte: boolean;
  /** FEAT_MTE_PERM: stage-2 NoTagAccess */
  readonly mtePerm: boolean;
}

export interface HostHandle {
  readonly config: HostConfig;
  /** Set the simulated CPU's features (the simulator; a real host has its own and lacks this). */
  setCpuFeatures?(f: CpuFeatures): void;
  checkExtension(cap: number): Promise<number>;
  /**
   * KVM_CREATE_VM. With a `reuse` key the target may instead hand back a VM of the same type that an
   * earlier createVm with the same key made and destroy() gave back, made to look fresh to whatever
   * a case with this key does: all its memslots deleted (so stage 2 maps nothing of them), its vCPU
   * reset by the next run. The caller promises every case with one key makes the same VM-wide
   * choices (caps, register width); abort/reuse-equivalence checks that a case cannot tell.
   */
  createVm(type: bigint, reuse?: string): Promise<Result<VmHandle>>;
  /**
   * The boot-time memory and EL2 layout (seed 001). 'own': the boot this host made;
   * a BootConfig: boot that (the simulator; a real target throws HostMismatch).
   * Absent on targets that cannot report it.
   */
  hypLayout?(boot: BootConfig | 'own'): Promise<HypLayoutReport>;
}

export interface Target {
  /** Probe (and boot, for QEMU). Throws TargetUnusable with a reason when it cannot be used. */
  open(): Promise<TargetInfo>;
  /** A handle on the host; a fixed-host target throws HostMismatch when asked for another host. */
  host(config: HostConfig): Promise<HostHandle>;
  /**
   * How many cases may be observed at once (requests pipelined on one channel): the runner then
   * observes a property's next cases ahead of fast-check, as far as this. Absent: one at a time.
   */
  readonly pipelineDepth?: number;
  /** VMs made afresh and handed back for reuse so far (targets that reuse VMs). */
  vmCounts?(): { readonly fresh: number; readonly reused: number };
  /** Bring a dead target back (reboot QEMU, restart the helper); absent when it cannot die. */
  restart?(): Promise<void>;
  /** The kernel's boot log lines about KVM, as the target read them at open (real targets only). */
  bootLog?(): readonly string[] | undefined;
  close(): Promise<void>;
}

export class TargetUnusable extends Error {
  override readonly name = 'TargetUnusable';
}

export class HostMismatch extends Error {
  override readonly name = 'HostMismatch';
}

/** The target died under a case (helper crash, QEMU exit): the case is an error, not a verdict. */
export class TargetDied extends Error {
  override readonly name = 'TargetDied';
}

export function isErrno<T>(r: Result<T>): r is { readonly errno: Errno } {
  return typeof r === 'object' && r !== null && 'errno' in r;
}
