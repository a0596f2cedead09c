// A simulated VM: its slot table, its stage-2 tables and VTCR_EL2, and one
// vCPU running a single access. The hardware side (stage-1 with the MMU off,
// the stage-2 walk, the syndrome) and the hypervisor side (the abort handler)
// are kept apart, as on a real machine.

import {
  ESR_ELx_CM,
  ESR_ELx_EC_DABT_CUR,
  ESR_ELx_EC_DABT_LOW,
  ESR_ELx_EC_IABT_CUR,
  ESR_ELx_EC_IABT_LOW,
  ESR_ELx_EC_SHIFT,
  ESR_ELx_FSC,
  ESR_ELx_FSC_ADDRSZ,
  ESR_ELx_FSC_FAULT,
  ESR_ELx_FSC_PERM,
  ESR_ELx_FSC_TYPE,
  ESR_ELx_IL,
  ESR_ELx_ISV,
  ESR_ELx_S1PTW,
  ESR_ELx_SAS_SHIFT,
  ESR_ELx_SF,
  ESR_ELx_SRT_SHIFT,
  ESR_ELx_WNR,
} from '../../arch/esr.ts';
import { pageShift, parangeToPhysShift } from '../../arch/host.ts';
import { KVM_MEM_READONLY } from '../../arch/kvm.ts';
import { CURRENT_EL_SP_EL0_VECTOR, CURRENT_EL_SP_ELx_VECTOR, LOWER_EL_AArch64_VECTOR } from '../../arch/vectors.ts';
import { t0sz } from '../../arch/vtcr.ts';
import type { Errno } from '../../arch/errno.ts';
import type { GuestState, HostConfig, MemoryRegion, RunOutcome, RunRequest } from '../../core/target.ts';
import { injectAbort, injectSizeFault, type Injected, type InjectOptions, type TrapInfo } from './inject.ts';
import type { SimKnobs } from './knobs.ts';
import { Memslots, type MemSlot } from './memslots.ts';
import type { AddressSpace, SimMte } from './mte.ts';
import { rootIndexBits, startLevel, Stage2Tables, walk, walkConfigValid } from './stage2.ts';

/** How often a vCPU re-enters the guest after a fault before we call it stuck. */
const MAX_ENTRIES = 8;

/** The exception syndrome the hardware gives EL2 for a stage-2 fault. */
interface Stage2Trap {
  readonly esr: bigint;
  /** HPFAR_EL2-derived IPA, page [MAX:12] */
  readonly faultIpa: bigint;
  /** FAR_EL2: the VA; with the MMU off, the address the guest named */
  readonly hfar: bigint;
  readonly isIabt: boolean;
}

type HandlerResult =
  | { readonly kind: 'resume' }
  | { readonly kind: 'inject'; readonly exc: Injected }
  | { readonly kind: 'exit'; readonly outcome: RunOutcome };

export interface SimVmOptions {
  readonly host: HostConfig;
  readonly knobs: SimKnobs;
  readonly ipaLimit: number;
  readonly physShift: number;
  readonly vtcr: bigint;
  /** architecture's syndrome bits on injected aborts instead of KVM's (--strict) */
  readonly strict: boolean;
  /** the VMM's VMAs and the VM's MTE state */
  readonly space: AddressSpace;
  readonly mte: SimMte;
}

export class SimVm {
  readonly slots = new Memslots();
  /**
   * made at the first walk after creation or a flush: a VM that never runs allocates none, and the
   * memslots a case deletes before its VM is reused cost one set of tables, not one each
   */
  private tables: Stage2Tables | undefined;
  private nisvToUser = false;
  private nextHostPa = 0x8000_0000n;
  private readonly pageShift: number;
  /** pages mapped with seed 003's NoTagAccess attribute (by IPA page) */
  private readonly noTagPages = new Set<bigint>();

  constructor(readonly o: SimVmOptions) {
    this.pageShift = pageShift(o.host.granule);
  }

  private s2(): Stage2Tables {
    if (this.tables) return this.tables;
    const bits = walkConfigValid(this.o.vtcr, this.o.host.parange) ? rootIndexBits(this.o.vtcr) : 1;
    this.tables = new Stage2Tables(this.pageShift, 1 << Math.max(bits, 1));
    return this.tables;
  }

  setMemoryRegion(r: MemoryRegion, uaddr: bigint): 0 | Errno {
    const taskSize = 1n << BigInt(this.o.host.vaBits >= 52 ? 52 : 48);
    return this.slots.set(
      r,
      uaddr,
      {
        pageShift: this.pageShift,
        taskSize,
        physSize: 1n << BigInt(this.o.physShift),
        knobs: this.o.knobs,
        vmaWalk: (hva, size) => this.o.mte.prepare(this.o.space, hva, size),
      },
      // kvm_arch_flush_shadow_memslot(): unmap the whole stage 2 (coarse but exact in effect)
      () => {
        this.tables = undefined;
        this.noTagPages.clear();
      },
    );
  }

  enableNisvToUser(): void {
    this.nisvToUser = true;
  }

  /**
   * KVM_RUN until the access completes, exits to userspace, or the vCPU is
   * stuck. The vCPU first fetches the harness code at IPA 0 (as the real
   * helper's guest does), then makes the access.
   */
  run(req: RunRequest): RunOutcome {
    if (req.nisvToUser) this.nisvToUser = true;
    const fetch: RunRequest = {
      state: req.state,
      nisvToUser: req.nisvToUser,
      access: { kind: 'ifetch', size: 4, ipa: 0n, data: 0n, syndromeValid: true },
    };
    const code = this.execute(fetch);
    if (code.kind !== 'completed') return code.kind === 'hang' ? code : { kind: 'run-errno', errno: 'EFAULT' };
    return this.execute(req);
  }

  private execute(req: RunRequest): RunOutcome {
    for (let entry = 0; entry < MAX_ENTRIES; entry++) {
      const hw = this.guestAccess(req);
      if (hw.kind === 'done') {
        // an LDG to a page stage 2 maps NoTagAccess faults to EL2, which (seed 003) exits to the VMM
        const page = req.access.ipa >> BigInt(this.pageShift);
        if (req.tagAccess && hw.outcome.kind === 'completed' && this.noTagPages.has(page)) {
          return { kind: 'notag-access', gpa: page << BigInt(this.pageShift), size: 1n << BigInt(this.pageShift) };
        }
        return hw.outcome;
      }
      const h = this.handleGuestAbort(hw.trap, req);
      if (h.kind === 'exit') return h.outcome;
      if (h.kind === 'inject') return { kind: 'exception', ...h.exc };
      // resume: the guest retries the same instruction
    }
    return { kind: 'hang' };
  }

  // --- the hardware ------------------------------------------------------------

  private guestAccess(req: RunRequest): { kind: 'done'; outcome: RunOutcome } | { kind: 'trap'; trap: Stage2Trap } {
    const a = req.access;
    const isIabt = a.kind === 'ifetch';
    const isWrite = a.kind === 'store';
    const paBits = parangeToPhysShift(this.o.host.parange, this.o.host.kernelPaBits);
    // stage 1 with the MMU off: an output address beyond the PA size is an
    // address size fault at level 0, taken to EL1 without KVM seeing it
    if (a.ipa >> BigInt(paBits) !== 0n) {
      return { kind: 'done', outcome: { kind: 'exception', ...stage1AddressSizeFault(req.state, isIabt, isWrite, a.ipa) } };
    }
    const w = walk(this.s2(), this.o.vtcr, this.o.host.parange, a.ipa, isWrite);
    if (w.ok) return { kind: 'done', outcome: { kind: 'completed' } };
    const fsc = w.fault === 'translation' ? ESR_ELx_FSC_FAULT : w.fault === 'permission' ? ESR_ELx_FSC_PERM : ESR_ELx_FSC_ADDRSZ;
    let esr =
      ((isIabt ? ESR_ELx_EC_IABT_LOW : ESR_ELx_EC_DABT_LOW) << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | (fsc + BigInt(Math.max(w.level, 0)));
    if (!isIabt) {
      if (isWrite) esr |= ESR_ELx_WNR;
      if (a.syndromeValid) {
        const sas = BigInt([1, 2, 4, 8].indexOf(a.size));
        // ISV, SAS, SRT = x1, SF for 64-bit registers
        esr |= ESR_ELx_ISV | (sas << ESR_ELx_SAS_SHIFT) | (1n << ESR_ELx_SRT_SHIFT) | (a.size === 8 ? ESR_ELx_SF : 0n);
      }
    }
    const pageMask = (1n << 12n) - 1n;
    return { kind: 'trap', trap: { esr, faultIpa: a.ipa & ~pageMask, hfar: a.ipa, isIabt } };
  }

  // --- the hypervisor: kvm_handle_guest_abort() ------------------------------

  private handleGuestAbort(t: Stage2Trap, req: RunRequest): HandlerResult {
    const fsc = t.esr & ESR_ELx_FSC;
    const isTranslation = (fsc & ESR_ELx_FSC_TYPE) === ESR_ELx_FSC_FAULT;
    const isPermission = (fsc & ESR_ELx_FSC_TYPE) === ESR_ELx_FSC_PERM;
    const trapInfo: TrapInfo = {
      state: req.state,
      isIabt: t.isIabt,
      isWrite: (t.esr & ESR_ELx_WNR) !== 0n && !t.isIabt,
      il32: (t.esr & ESR_ELx_IL) !== 0n,
    };
    let faultIpa = t.faultIpa;
    const k = this.o.knobs;
    const inj: InjectOptions = { strict: this.o.strict, ecFrom: k.injectEcFrom };

    const check = k.outOfRangeCheck;
    const gate = check === 'split-wrong-class' ? isPermission : isTranslation;
    if (gate && check !== 'none') {
      if (check === 'asf-beyond-ipa') {
        if (faultIpa >= 1n << BigInt(this.o.physShift)) {
          return { kind: 'inject', exc: injectSizeFault(trapInfo, faultIpa | (t.hfar & 0xfffn), inj) };
        }
      } else {
        // Beyond sanitised PARange (which is the IPA limit)
        const sizeBound =
          k.sizeFaultBound === 'ipa-limit' ? this.o.ipaLimit : parangeToPhysShift(this.o.host.parange, this.o.host.kernelPaBits);
        if (faultIpa >= 1n << BigInt(sizeBound)) {
          return { kind: 'inject', exc: injectSizeFault(trapInfo, faultIpa | (t.hfar & 0xfffn), inj) };
        }
        // Falls between the IPA range and the PARange?
        if (faultIpa >= 1n << BigInt(64 - t0sz(this.o.vtcr))) {
          if (k.outOfRangeFarOffset === 'hfar-low-bits') faultIpa |= t.hfar & 0xfffn;
          return { kind: 'inject', exc: injectAbort(trapInfo, faultIpa, inj) };
        }
      }
    }

    if (!isTranslation && !isPermission) return { kind: 'exit', outcome: { kind: 'run-errno', errno: 'EFAULT' } };

    const gfn = faultIpa >> BigInt(this.pageShift);
    const slot = this.slots.find(gfn);
    const writable = slot !== undefined && (slot.flags & KVM_MEM_READONLY) === 0;
    const writeFault = trapInfo.isWrite;
    if (!slot || (writeFault && !writable)) {
      // the guest fetched instructions from somewhere it shouldn't: a prefetch abort
      if (t.isIabt) return { kind: 'inject', exc: injectAbort(trapInfo, t.hfar, inj) };
      if ((t.esr & ESR_ELx_S1PTW) !== 0n) return { kind: 'inject', exc: injectAbort(trapInfo, t.hfar, inj) };
      if (!slot && (t.esr & ESR_ELx_CM) !== 0n) return { kind: 'resume' };
      // The IPA is reported as [MAX:12]: complete it with the low 12 bits of the VA
      return { kind: 'exit', outcome: this.ioMemAbort(t, faultIpa | (t.hfar & 0xfffn), req) };
    }
    const hva = slot.userspaceAddr + ((gfn - slot.baseGfn) << BigInt(this.pageShift));
    const f = this.o.mte.fault(this.o.space, hva);
    if (typeof f === 'string') return { kind: 'exit', outcome: { kind: 'run-errno', errno: f } };
    if (f.noTagAccess) this.noTagPages.add(gfn);
    this.userMemAbort(slot, faultIpa, writable);
    return { kind: 'resume' };
  }

  /** io_mem_abort() */
  private ioMemAbort(t: Stage2Trap, ipa: bigint, req: RunRequest): RunOutcome {
    if ((t.esr & ESR_ELx_ISV) === 0n) {
      if (this.nisvToUser) {
        return { kind: 'nisv', esrIss: t.esr & (ESR_ELx_CM | ESR_ELx_WNR | ESR_ELx_FSC), faultIpa: ipa };
      }
      return { kind: 'run-errno', errno: 'ENOSYS' };
    }
    const isWrite = (t.esr & ESR_ELx_WNR) !== 0n;
    const len = 1 << Number((t.esr >> ESR_ELx_SAS_SHIFT) & 3n);
    const mask = len === 8 ? (1n << 64n) - 1n : (1n << BigInt(8 * len)) - 1n;
    return { kind: 'mmio', physAddr: ipa, len, isWrite, data: isWrite ? req.access.data & mask : 0n };
  }

  /** user_mem_abort(): back the faulting page and map it. */
  private userMemAbort(slot: MemSlot, faultIpa: bigint, writable: boolean): void {
    const pa = this.nextHostPa;
    this.nextHostPa += 1n << BigInt(this.pageShift);
    void slot;
    this.s2().map(faultIpa, pa, startLevel(this.o.vtcr), rootIndexBits(this.o.vtcr), writable);
  }
}

/** What the hardware reports to EL1 for a stage-1 address size fault at level 0. */
function stage1AddressSizeFault(state: GuestState, isIabt: boolean, isWrite: boolean, va: bigint): Injected {
  const lower = state === 'el0';
  const ec = isIabt ? (lower ? ESR_ELx_EC_IABT_LOW : ESR_ELx_EC_IABT_CUR) : lower ? ESR_ELx_EC_DABT_LOW : ESR_ELx_EC_DABT_CUR;
  let esr = (ec << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | ESR_ELx_FSC_ADDRSZ;
  if (!isIabt && isWrite) esr |= ESR_ELx_WNR;
  const vector = state === 'el1t' ? CURRENT_EL_SP_EL0_VECTOR : state === 'el1h' ? CURRENT_EL_SP_ELx_VECTOR : LOWER_EL_AArch64_VECTOR;
  return { vector, esr, far: va };
}
