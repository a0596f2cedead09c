// abort observations: what one guest access ends in.

import { KVM_CAP_ARM_NISV_TO_USER } from '../../arch/kvm.ts';
import type { AccessCase, AccessOutcome, ReuseCase, ReuseOutcome } from '../../core/cases.ts';
import { isAarch32, isErrno, type Target } from '../../core/target.ts';

/**
 * The reuse key of an access case (core/target.ts, createVm): AArch64 cases with the same NISV
 * choice make the same VM-wide choices, so a target may run them on one VM in turn. AArch32
 * states build their translation tables in the harness's code memory: always a fresh VM.
 */
export function reuseKey(c: AccessCase): string | undefined {
  return isAarch32(c.state) ? undefined : `a64${c.nisvToUser ? '+nisv' : ''}`;
}

export async function observeAccess(c: AccessCase, t: Target): Promise<AccessOutcome> {
  return (await observeAccessOn(c, t, reuseKey(c))).outcome;
}

/** The outcome, and whether the target ran it on a VM an earlier case used. */
export async function observeAccessOn(
  c: AccessCase,
  t: Target,
  reuse: string | undefined,
): Promise<{ outcome: AccessOutcome; reused: boolean }> {
  const h = await t.host(c.host);
  const vm = await h.createVm(BigInt(c.ipaBits), reuse);
  if (isErrno(vm)) return { outcome: { vm: vm.errno }, reused: false };
  const setup: Promise<unknown>[] = [];
  if (c.nisvToUser) setup.push(vm.enableCap(KVM_CAP_ARM_NISV_TO_USER, []));
  for (const s of c.slots) setup.push(vm.setMemoryRegion(s));
  // awaited together, so a target dying under the pipeline rejects once, not once per request
  const [, outcome] = await Promise.all([Promise.all(setup), vm.run({ state: c.state, access: c.access, nisvToUser: c.nisvToUser })]);
  await vm.destroy();
  const reused = vm.reused === true;
  // a load's value depends on memory contents no rule speaks of
  if (outcome.kind === 'completed') return { outcome: { vm: 'ok', outcome: { kind: 'completed' } }, reused };
  return { outcome: { vm: 'ok', outcome }, reused };
}

/** abort/reuse-equivalence: the prior cases, then the probe, each on the VM the one before gave back. */
export async function observeReuse(c: ReuseCase, t: Target): Promise<ReuseOutcome> {
  const key = reuseKey(c.probe);
  let closed = false;
  for (const p of c.prior) closed = closes((await observeAccessOn(p, t, key)).outcome);
  const { outcome, reused } = await observeAccessOn(c.probe, t, key);
  // a last prior whose VM the target had to close leaves nothing to reuse: not the target's failure
  return { probe: outcome, onReusedVm: outcome.vm === 'ok' && (reused || closed) };
}

/** A case after which a target closes its VM rather than give it back: a hung or refused KVM_RUN. */
function closes(o: AccessOutcome): boolean {
  return o.outcome?.kind === 'hang' || o.outcome?.kind === 'run-errno';
}

/** The probe on a fresh VM: what the reused one must show (and a VM to reuse whenever one was made). */
export async function observeReuseFresh(c: ReuseCase, t: Target): Promise<ReuseOutcome> {
  const { outcome } = await observeAccessOn(c.probe, t, undefined);
  return { probe: outcome, onReusedVm: outcome.vm === 'ok' };
}
