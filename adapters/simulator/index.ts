// The simulator target: a mechanistic model of a host running KVM/arm64,
// reachable through the same ioctl-shaped interface as a real kernel.

import { HARNESS_CODE_SIZE, HARNESS_SLOT } from '../../core/cases.ts';
import type { Errno } from '../../arch/errno.ts';
import { KVM_CAP_ARM_MTE, KVM_CAP_ARM_NISV_TO_USER, KVM_CAP_ARM_VM_IPA_SIZE, KVM_CAP_NR_MEMSLOTS } from '../../arch/kvm.ts';
import type {
  BackingRequest,
  BackingResult,
  BootConfig,
  CpuFeatures,
  HostConfig,
  HostHandle,
  MemoryRegion,
  Result,
  RunOutcome,
  RunRequest,
  HypLayoutReport,
  Target,
  TargetInfo,
  VmHandle,
} from '../../core/target.ts';
import { QEMU_VIRT_BOOT } from '../../core/cases.ts';
import { simulateBoot } from './layout.ts';
import { kvmInitIpaRange, kvmSetIpaLimit } from './kvm.ts';
import { MAINLINE_KNOBS, type SimKnobs } from './knobs.ts';
import { SimVm } from './vm.ts';
import { AddressSpace, SimMte } from './mte.ts';

export interface SimOptions {
  readonly knobs?: Partial<SimKnobs>;
  readonly strict?: boolean;
  /** name shown in reports (e.g. a mutant's) */
  readonly label?: string;
}

/** A VM a case gave back with a reuse key (core/target.ts createVm): its memslots deleted, waiting for the same type and key. */
interface Parked {
  readonly vm: SimVm;
  readonly space: AddressSpace;
  readonly mte: SimMte;
  readonly harness: boolean;
  readonly vcpu: boolean;
}

class SimVmHandle implements VmHandle {
  private nextUaddr = 0x10_0000_0000n;
  /** the slots the case made, by id: destroy() deletes them before parking the VM */
  private readonly made = new Map<number, MemoryRegion>();
  constructor(
    private readonly vm: SimVm,
    private readonly space: AddressSpace,
    private readonly mte: SimMte,
    readonly reused: boolean,
    private harness: boolean,
    private vcpu: boolean,
    /** where destroy() parks it (a reuse key was given), or undefined: closed */
    private readonly park: ((p: Parked) => void) | undefined,
  ) {}

  async mapBacking(b: BackingRequest): Promise<BackingResult> {
    return this.space.map(b);
  }

  async unmapBacking(uaddr: bigint, size: bigint): Promise<void> {
    this.space.unmap(uaddr, size);
  }

  async setMemoryRegion(r: MemoryRegion): Promise<{ errno: Errno | null }> {
    let uaddr: bigint;
    if (r.userspaceAddr === 'auto') {
      uaddr = this.nextUaddr;
      this.nextUaddr += r.memorySize + (1n << 16n);
      // the helper's "auto" backing: anonymous private memory
      if (r.memorySize > 0n) this.space.map({ kind: 'anon', shared: false, size: r.memorySize, at: uaddr });
    } else uaddr = r.userspaceAddr;
    const e = this.vm.setMemoryRegion(r, uaddr);
    if (e === 0 && r.memorySize === 0n) this.made.delete(r.slot);
    else if (e === 0) this.made.set(r.slot, { ...r, userspaceAddr: uaddr });
    return { errno: e === 0 ? null : e };
  }

  async enableCap(cap: number, args: readonly bigint[], flags = 0): Promise<{ errno: Errno | null }> {
    void args;
    if (cap === KVM_CAP_ARM_MTE) {
      const e = this.mte.enableCap(flags, this.vcpu);
      return { errno: e === 0 ? null : e };
    }
    if (cap === KVM_CAP_ARM_NISV_TO_USER) {
      this.vm.enableNisvToUser();
      return { errno: null };
    }
    return { errno: 'EINVAL' };
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    this.vcpu = true; // KVM_CREATE_VCPU at the first run, as the real helper does
    // the harness code slot, made on first use as the real helper does
    if (!this.harness) {
      this.harness = true;
      this.space.map({ kind: 'anon', shared: false, size: HARNESS_CODE_SIZE, at: 0x7f00_0000_0000n });
      const e = this.vm.setMemoryRegion(
        { slot: HARNESS_SLOT, flags: 0, guestPhysAddr: 0n, memorySize: HARNESS_CODE_SIZE, userspaceAddr: 'auto' },
        0x7f00_0000_0000n,
      );
      if (e !== 0) return { kind: 'run-errno', errno: e };
    }
    const out = this.vm.run(req);
    if (out.kind === 'hang' || out.kind === 'run-errno') this.tainted = true; // a stuck or refused vCPU: never parked
    return out;
  }

  private tainted = false;

  /** Closed, or parked: every slot the case made deleted (KVM unmaps stage 2 for each) and its memory unmapped. */
  async destroy(): Promise<void> {
    if (!this.park || this.tainted) return;
    for (const r of this.made.values()) {
      if (this.vm.setMemoryRegion({ ...r, memorySize: 0n }, 0n) !== 0) return; // cannot be made fresh: closed
      if (typeof r.userspaceAddr === 'bigint' && r.userspaceAddr >= 0x10_0000_0000n) this.space.unmap(r.userspaceAddr, r.memorySize);
    }
    this.made.clear();
    this.park({ vm: this.vm, space: this.space, mte: this.mte, harness: this.harness, vcpu: this.vcpu });
  }
}

class SimHostHandle implements HostHandle {
  private readonly limit: number;
  private features: CpuFeatures = { mte: true, mtePerm: false };

  constructor(
    readonly config: HostConfig,
    private readonly knobs: SimKnobs,
    private readonly strict: boolean,
    /** VMs given back with a reuse key, by type and key (the target's, for this host) */
    private readonly parked: Map<string, Parked[]>,
    private readonly counts: { fresh: number; reused: number },
  ) {
    this.limit = kvmSetIpaLimit(config, knobs);
  }

  setCpuFeatures(f: CpuFeatures): void {
    this.features = f;
  }

  async checkExtension(cap: number): Promise<number> {
    if (cap === KVM_CAP_ARM_VM_IPA_SIZE) return this.limit;
    if (cap === KVM_CAP_ARM_MTE) return this.knobs.mteCap && this.features.mte ? 1 : 0;
    if (cap === KVM_CAP_ARM_NISV_TO_USER) return 1;
    if (cap === KVM_CAP_NR_MEMSLOTS) return this.knobs.userMemSlots;
    return 0;
  }

  async createVm(type: bigint, reuse?: string): Promise<Result<VmHandle>> {
    const key = reuse === undefined ? undefined : `${type}/${reuse}`;
    const parked = key === undefined ? undefined : this.parked.get(key)?.pop();
    const park =
      key === undefined ? undefined : (p: Parked): void => void (this.parked.get(key) ?? this.parked.set(key, []).get(key))?.push(p);
    if (parked) {
      this.counts.reused++;
      return new SimVmHandle(parked.vm, parked.space, parked.mte, true, parked.harness, parked.vcpu, park);
    }
    const cfg = kvmInitIpaRange(this.config, type, this.limit, this.knobs);
    if (typeof cfg === 'string') return { errno: cfg };
    const space = new AddressSpace(this.knobs);
    const mte = new SimMte(this.knobs, this.features.mte, this.features.mtePerm);
    const vm = new SimVm({
      host: this.config,
      knobs: this.knobs,
      ipaLimit: this.limit,
      physShift: cfg.physShift,
      vtcr: cfg.vtcr,
      strict: this.strict,
      space,
      mte,
    });
    if (key !== undefined) this.counts.fresh++;
    return new SimVmHandle(vm, space, mte, false, false, false, park);
  }

  async hypLayout(boot: BootConfig | 'own'): Promise<HypLayoutReport> {
    return simulateBoot(this.config, boot === 'own' ? QEMU_VIRT_BOOT : boot, this.knobs);
  }
}

export function simulatorTarget(opts: SimOptions = {}): Target {
  const knobs: SimKnobs = { ...MAINLINE_KNOBS, ...opts.knobs };
  const strict = opts.strict ?? false;
  // parked VMs live as long as the target, per host (the MTE features a case sets travel with its VM)
  const parked = new Map<string, Map<string, Parked[]>>();
  const counts = { fresh: 0, reused: 0 };
  return {
    vmCounts: () => ({ ...counts }),
    async open(): Promise<TargetInfo> {
      return { kind: 'sim', spec: opts.label ?? 'sim', host: 'any' };
    },
    async host(config: HostConfig): Promise<HostHandle> {
      const k = `${config.parange}/${config.granule}/${config.lpa2}/${config.kernelPaBits}/${config.vaBits}/${config.mode}`;
      const mine = parked.get(k) ?? parked.set(k, new Map()).get(k) ?? new Map<string, Parked[]>();
      return new SimHostHandle(config, knobs, strict, mine, counts);
    },
    async close(): Promise<void> {},
  };
}
