// layout observations (seed 001): what a target reports about its boot-time layout.
// The simulator boots any BootConfig through HostHandle.hypLayout(); a real target has
// booted once, and what it can show is its boot log: the mode KVM initialised in and
// whether arm64_memblock_init() capped the linear region.

import type { BootLogOutcome, El2MappableOutcome, LayoutCase, LayoutOutcome } from '../../core/cases.ts';
import type { KvmMode } from '../../arch/host.ts';
import type { HypLayoutReport, Target } from '../../core/target.ts';

export const CAP_LINE = 'Capping linear region to 51 bits for KVM in nVHE mode on LVA capable hardware.';

/**
 * The facts a boot log shows. KVM's init line: 6.1 "VHE mode", "Hyp mode" (nVHE),
 * "Protected nVHE mode"; 6.12 "Hyp nVHE mode", "Hyp hVHE mode", "Protected hVHE mode".
 */
export function bootLogFacts(kmsg: readonly string[]): BootLogOutcome {
  let kvm: KvmMode | 'failed' = 'failed';
  for (const l of kmsg) {
    if (!l.includes('mode initialized successfully')) continue;
    if (l.includes('Protected ')) kvm = 'protected';
    else if (/\b(nVHE|hVHE|Hyp) mode/.test(l)) kvm = 'nvhe';
    else if (l.includes('VHE mode')) kvm = 'vhe';
  }
  return { kvm, linearCap51: kmsg.some((l) => l.includes(CAP_LINE)) };
}

async function report(c: LayoutCase, t: Target): Promise<HypLayoutReport> {
  const h = await t.host(c.host);
  if (h.hypLayout) return h.hypLayout(c.boot);
  // a real target whose adapter does not report a layout yet: its boot log
  const kmsg = c.boot === 'own' ? t.bootLog?.() : undefined;
  if (!kmsg) throw new Error('the target reports no boot layout and no boot log');
  return { ...bootLogFacts(kmsg), kmsg };
}

export async function observeLayout(c: LayoutCase, t: Target): Promise<LayoutOutcome> {
  const r = await report(c, t);
  if (!r.kept || !r.dropped || !r.el2) throw new Error('the target reports only its boot log, not the layout');
  return { linearCap51: r.linearCap51, kept: r.kept, dropped: r.dropped, el2: r.el2 };
}

export async function observeEl2Mappable(c: LayoutCase, t: Target): Promise<El2MappableOutcome> {
  const r = await report(c, t);
  if (!r.el2) throw new Error('the target reports only its boot log, not the EL2 layout');
  return { unmappable: r.el2.kind === 'hyp' ? r.el2.unmappable : [] };
}

export async function observeBootLog(c: LayoutCase, t: Target): Promise<BootLogOutcome> {
  const r = await report(c, t);
  // what the log says, read the same way on every target: a kernel's log lines are the observation
  if (r.kmsg) return bootLogFacts(r.kmsg);
  return { kvm: r.kvm, linearCap51: r.linearCap51 };
}
