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


class SimVmHandle implements VmHandle {
  private nextUaddr = 0x10_0000_0000n;
  private harness = false;
  private vcpu = false;
  constructor(
    private readonly vm: SimVm,
    private readonly space: AddressSpace,
    private readonly mte: SimMte,
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
    return this.vm.run(req);
  }

  async destroy(): Promise<void> {}
}

class SimHostHandle implements HostHandle {
  private readonly limit: number;
  private features: CpuFeatures = { mte: true, mtePerm: false };
  constructor(
    readonly config: HostConfig,
    private readonly knobs: SimKnobs,
    private readonly strict: boolean,
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

  async createVm(type: bigint): Promise<Result<VmHandle>> {
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
    return new SimVmHandle(vm, space, mte);
  }

  async hypLayout(boot: BootConfig | 'own'): Promise<HypLayoutReport> {
    return simulateBoot(this.config, boot === 'own' ? QEMU_VIRT_BOOT : boot, this.knobs);
  }
}

export function simulatorTarget(opts: SimOptions = {}): Target {
  const knobs: SimKnobs = { ...MAINLINE_KNOBS, ...opts.knobs };
  const strict = opts.strict ?? false;
  return {
    async open(): Promise<TargetInfo> {
      return { kind: 'sim', spec: opts.label ?? 'sim', host: 'any' };
    },
    async host(config: HostConfig): Promise<HostHandle> {
      return new SimHostHandle(config, knobs, strict);
    },
    async close(): Promise<void> {},
  };
}
