// Exception injection (arch/arm64/kvm/inject_fault.c, hyp/exception.c):
// what the hypervisor writes into ESR_EL1/FAR_EL1 and where the guest vectors.

import { isAarch32, type GuestState } from '../../core/target.ts';
import {
  ESR_ELx_EC_DABT_LOW,
  ESR_ELx_EC_IABT_CUR,
  ESR_ELx_EC_IABT_LOW,
  ESR_ELx_EC_SHIFT,
  ESR_ELx_FSC,
  ESR_ELx_FSC_EXTABT,
  ESR_ELx_IL,
  ESR_ELx_WNR,
} from '../../arch/esr.ts';
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
} from '../../arch/vectors.ts';

export interface Injected {
  readonly vector: number;
  readonly esr: bigint;
  readonly far: bigint;
}

/** What the trapped access looked like to the hypervisor. */
export interface TrapInfo {
  readonly state: GuestState;
  readonly isIabt: boolean;
  readonly isWrite: boolean;
  /** ESR_EL2.IL of the trap */
  readonly il32: boolean;
}

export interface InjectOptions {
  /** also report WnR, as a hardware external abort on a store would (--strict) */
  readonly strict: boolean;
  /** SimKnobs.injectEcFrom */
  readonly ecFrom: 'pstate-mode' | 'target-el';
}

/** inject_abt64() / inject_abt32(): an external abort at `addr`. */
export function injectAbort(t: TrapInfo, addr: bigint, o: InjectOptions): Injected {
  if (isAarch32(t.state)) return injectAbt32(t, addr, o.strict);
  let esr = 0n;
  if (t.il32) esr |= ESR_ELx_IL;
  // an EL0 fault is reported as coming from a lower EL: (*vcpu_cpsr(vcpu) & PSR_MODE_MASK) == PSR_MODE_EL0t
  const lower = o.ecFrom === 'pstate-mode' && t.state === 'el0';
  if (lower) esr |= ESR_ELx_EC_IABT_LOW << ESR_ELx_EC_SHIFT;
  else esr |= ESR_ELx_EC_IABT_CUR << ESR_ELx_EC_SHIFT;
  if (!t.isIabt) esr |= ESR_ELx_EC_DABT_LOW << ESR_ELx_EC_SHIFT;
  esr |= ESR_ELx_FSC_EXTABT;
  if (o.strict && !t.isIabt && t.isWrite) esr |= ESR_ELx_WNR;
  return { vector: vectorFor(t.state), esr, far: addr };
}

/** kvm_inject_size_fault(): the abort above, turned into an address size fault at level 0. */
export function injectSizeFault(t: TrapInfo, addr: bigint, o: InjectOptions): Injected {
  const a = injectAbort(t, addr, o);
  // a short-descriptor AArch32 guest cannot be told about an address size fault
  if (t.state === 'a32-short') return a;
  // the kernel clears ESR_EL1[5:0], which is DFSR: a prefetch abort's IFSR keeps its status
  if (t.state === 'a32-lpae' && t.isIabt) return a;
  return { ...a, esr: a.esr & ~ESR_ELx_FSC };
}

function vectorFor(state: GuestState): number {
  switch (state) {
    case 'el1t':
      return CURRENT_EL_SP_EL0_VECTOR;
    case 'el1h':
      return CURRENT_EL_SP_ELx_VECTOR;
    case 'el0':
      return LOWER_EL_AArch64_VECTOR;
    default:
      return CURRENT_EL_SP_ELx_VECTOR;
  }
}

function injectAbt32(t: TrapInfo, addr: bigint, strict: boolean): Injected {
  const lpae = t.state === 'a32-lpae';
  let fsr = lpae ? DFSR_LPAE | DFSR_FSC_EXTABT_LPAE : DFSR_FSC_EXTABT_nLPAE;
  if (strict && !t.isIabt && t.isWrite) fsr |= DFSR_WNR;
  return { vector: t.isIabt ? A32_PABT_VECTOR : A32_DABT_VECTOR, esr: fsr, far: addr & 0xffff_ffffn };
}
