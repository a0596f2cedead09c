// What a guest access ends in: completion, an MMIO exit, a no-syndrome exit or
// error, an injected abort (exact ESR_EL1/FAR_EL1 and vector), an in-guest
// stage-1 fault, or a hang.

import {
  ESR_ELx_EC_DABT_CUR,
  ESR_ELx_EC_DABT_LOW,
  ESR_ELx_EC_IABT_CUR,
  ESR_ELx_EC_IABT_LOW,
  ESR_ELx_EC_SHIFT,
  ESR_ELx_FSC,
  ESR_ELx_FSC_ADDRSZ,
  ESR_ELx_FSC_EXTABT,
  ESR_ELx_FSC_FAULT,
  ESR_ELx_IL,
  ESR_ELx_WNR,
} from '../arch/esr.ts';
import { pageShift, parangeToPhysShift } from '../arch/host.ts';
import {
  A32_DABT_VECTOR,
  A32_PABT_VECTOR,
  CURRENT_EL_SP_EL0_VECTOR,
  CURRENT_EL_SP_ELx_VECTOR,
  DFSR_FSC_EXTABT_LPAE,
  DFSR_FSC_EXTABT_nLPAE,
  DFSR_LPAE,
  DFSR_WNR,
  LOWER_EL_AArch64_VECTOR,
} from '../arch/vectors.ts';
import { KVM_MEM_READONLY } from '../arch/kvm.ts';
import { HARNESS_CODE_SIZE, HARNESS_SLOT, type AccessCase, type AccessOutcome } from '../core/cases.ts';
import { isAarch32, type GuestState, type MemoryRegion, type RunOutcome } from '../core/target.ts';
import { ipaLimit } from './ipaLimit.ts';
import { setMemoryRegion } from './memslot.ts';
import type { Profile } from './profiles.ts';
import { vmCreate } from './vmCreate.ts';

export interface AbortOptions {
  /** report the syndrome bits the architecture gives a hardware abort, not KVM's (--strict) */
  readonly strict: boolean;
}

type Exception = Extract<RunOutcome, { kind: 'exception' }>;

function aa64Vector(s: GuestState): number {
  return s === 'el0' ? LOWER_EL_AArch64_VECTOR : s === 'el1t' ? CURRENT_EL_SP_EL0_VECTOR : CURRENT_EL_SP_ELx_VECTOR;
}

/** ESR_EL1 for an abort on `state`: EC by instruction/data and by the EL it came from, IL=1 (A64). */
function aa64Esr(state: GuestState, ifetch: boolean, fsc: bigint): bigint {
  const lower = state === 'el0';
  const ec = ifetch ? (lower ? ESR_ELx_EC_IABT_LOW : ESR_ELx_EC_IABT_CUR) : lower ? ESR_ELx_EC_DABT_LOW : ESR_ELx_EC_DABT_CUR;
  return (ec << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | fsc;
}

/**
 * An abort KVM injects (inject_abt64/inject_abt32): only EC, IL and FSC are
 * set; strict adds the WnR a hardware abort on a store carries.
 * seed 004 "[PATCH v2] KVM: arm64: Inject exception on out-of-IPA-range translation fault" (linux-arm-kernel); 85ea6b1ec915 (external abort between N and L, address size fault beyond L)
 */
function injected(c: AccessCase, fsc: 'extabt' | 'addrsize', far: bigint, o: AbortOptions): Exception {
  const { state, access } = c;
  const ifetch = access.kind === 'ifetch';
  const store = access.kind === 'store';
  if (isAarch32(state)) {
    const lpae = state === 'a32-lpae';
    let fsr = lpae ? DFSR_LPAE | DFSR_FSC_EXTABT_LPAE : DFSR_FSC_EXTABT_nLPAE;
    // seed 004 "[PATCH v2] KVM: arm64: Inject exception on out-of-IPA-range translation fault" (linux-arm-kernel); 85ea6b1ec915:
    // only an LPAE guest can be told it is an address size fault, and only for a data abort: the kernel
    // clears the status in ESR_EL1 (DFSR) even for a prefetch abort, whose status went to IFSR32_EL2,
    // which keeps the external abort (R3.4). Reachable under the seed's v1 (beyond N); from 5.18 an
    // AArch32 guest cannot reach the host limit.
    if (fsc === 'addrsize' && lpae && !ifetch) fsr &= ~ESR_ELx_FSC;
    if (o.strict && store) fsr |= DFSR_WNR;
    return { kind: 'exception', vector: ifetch ? A32_PABT_VECTOR : A32_DABT_VECTOR, esr: fsr, far: far & 0xffff_ffffn };
  }
  let esr = aa64Esr(state, ifetch, fsc === 'extabt' ? ESR_ELx_FSC_EXTABT : ESR_ELx_FSC_ADDRSZ);
  if (o.strict && store) esr |= ESR_ELx_WNR;
  return { kind: 'exception', vector: aa64Vector(state), esr, far };
}

/** The stage-1 address size fault the CPU raises itself when the MMU is off and the address exceeds PARange. */
function stage1AddressSize(c: AccessCase): Exception {
  const ifetch = c.access.kind === 'ifetch';
  let esr = aa64Esr(c.state, ifetch, ESR_ELx_FSC_ADDRSZ);
  if (c.access.kind === 'store') esr |= ESR_ELx_WNR;
  return { kind: 'exception', vector: aa64Vector(c.state), esr, far: c.access.ipa };
}

function slotOf(slots: readonly MemoryRegion[], ipa: bigint): MemoryRegion | undefined {
  return slots.find((s) => ipa >= s.guestPhysAddr && ipa < s.guestPhysAddr + s.memorySize);
}

/** The case's slots the memslot rules accept (before 262b003d059c, one ending at 2^N is refused). */
function acceptedSlots(c: AccessCase, ipaBits: number, p: Profile): MemoryRegion[] {
  let table: Parameters<typeof setMemoryRegion>[0] = new Map();
  const out: MemoryRegion[] = [];
  for (const s of c.slots) {
    const r = setMemoryRegion(table, s, c.host, ipaBits, p);
    table = r.slots;
    if (r.result === 'ok') out.push(s);
  }
  return out;
}

/**
 * The level a stage-2 translation fault is reported at: the first level whose
 * entry for `ipa` is not on the path of the only page the guest touched
 * before the access (the harness code page at IPA 0); level 0 when the IPA is
 * beyond the walk's input range, whatever the start level (Arm ARM
 * AArch64.S2Translate: IPAIsOutOfRange → Fault_Translation, level 0; seen on
 * 5.10.223, docs/findings.md).
 */
function translationFaultLevel(c: AccessCase, ipaBits: number): number {
  const shift = pageShift(c.host.granule);
  const stride = shift - 3;
  // stage2_pgtable_levels(): up to 16 tables concatenated at the start level
  const levels = Math.max(2, Math.floor((ipaBits - 4 - 4) / stride));
  const start = 4 - levels;
  if (c.access.ipa >> BigInt(ipaBits) !== 0n) return 0;
  for (let level = start; level <= 3; level++) {
    if (c.access.ipa >> BigInt(shift + stride * (3 - level)) !== 0n) return level;
  }
  return 3;
}

/** io_mem_abort() and the prefetch-abort path for an IPA no memslot (or no writable one) covers. */
function memslotPath(c: AccessCase, ipaBits: number): RunOutcome {
  const { access } = c;
  if (access.kind === 'ifetch') {
    // "The guest has put either its instructions or its page-tables somewhere it shouldn't have": a prefetch abort at the VA
    return injected(c, 'extabt', access.ipa, { strict: false });
  }
  if (!access.syndromeValid) {
    if (c.nisvToUser) {
      // KVM_EXIT_ARM_NISV: esr_iss keeps CM, WnR and the fault status; fault_ipa keeps the low 12 bits
      const fsc = ESR_ELx_FSC_FAULT + BigInt(translationFaultLevel(c, ipaBits));
      const wnr = access.kind === 'store' ? ESR_ELx_WNR : 0n;
      return { kind: 'nisv', esrIss: wnr | fsc, faultIpa: access.ipa };
    }
    return { kind: 'run-errno', errno: 'ENOSYS' };
  }
  const isWrite = access.kind === 'store';
  const mask = access.size === 8 ? (1n << 64n) - 1n : (1n << BigInt(8 * access.size)) - 1n;
  return { kind: 'mmio', physAddr: access.ipa, len: access.size, isWrite, data: isWrite ? access.data & mask : 0n };
}

export function accessOutcome(c: AccessCase, p: Profile, o: AbortOptions): AccessOutcome {
  const vm = vmCreate({ host: c.host, type: BigInt(c.ipaBits) }, p);
  if (vm.result === 'errno') return { vm: vm.errno };
  // seed 000 "[PATCH] KVM: arm64: Cap default IPA size to the host's own size" (linux-arm-kernel): a VM whose VTCR_EL2 cannot be walked never gets past its first instruction fetch
  if (vm.firstAccess === 'hang') return { vm: 'ok', outcome: { kind: 'hang' } };
  const n = vm.ipaBits;
  const limit = ipaLimit(c.host, p);
  // the guest sees the host's sanitised PARange, not its IPA size
  const paBits = parangeToPhysShift(c.host.parange, c.host.kernelPaBits);
  const ipa = c.access.ipa;
  const outcome = (r: RunOutcome): AccessOutcome => ({ vm: 'ok', outcome: r });

  // architecture: beyond PARange with the MMU off the CPU faults at stage 1, KVM never sees it
  if (!isAarch32(c.state) && ipa >> BigInt(paBits) !== 0n) return outcome(stage1AddressSize(c));

  const slot = ipa < HARNESS_CODE_SIZE ? { slot: HARNESS_SLOT, flags: 0 } : slotOf(acceptedSlots(c, n, p), ipa);
  const readonly = slot !== undefined && (slot.flags & KVM_MEM_READONLY) !== 0;
  const inIpaRange = ipa >> BigInt(n) === 0n;
  if (slot && inIpaRange) {
    if (!(c.access.kind === 'store' && readonly)) return outcome({ kind: 'completed' });
    // a store to a read-only slot (never mapped before: a translation fault) goes to userspace as MMIO
    return outcome(memslotPath(c, n));
  }

  // a stage-2 translation fault
  switch (p.outOfRange) {
    case 'split':
      // seed 004 "[PATCH v2] KVM: arm64: Inject exception on out-of-IPA-range translation fault" (linux-arm-kernel); 85ea6b1ec915: beyond the host limit an address size fault, then beyond the VM's IPA size an external abort
      if (ipa >> BigInt(limit) !== 0n) return outcome(injected(c, 'addrsize', ipa, o));
      if (!inIpaRange) return outcome(injected(c, 'extabt', ipa, o));
      break;
    case 'asf-beyond-ipa':
      // seed 004 "[PATCH v2] KVM: arm64: Inject exception on out-of-IPA-range translation fault" (linux-arm-kernel), v1: an address size fault for everything beyond the VM's IPA size
      if (!inIpaRange) return outcome(injected(c, 'addrsize', ipa, o));
      break;
    case 'mmio':
    // before 85ea6b1ec915: no range check, the fault goes to the memslot path ("things end badly")
    case 'split-wrong-class':
      // 11e5ea5242e3: the range check looks at permission faults, so translation faults skip it
      break;
  }
  return outcome(memslotPath(c, n));
}
