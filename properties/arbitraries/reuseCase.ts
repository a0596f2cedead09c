// abort/reuse-equivalence: a probe access and one to three prior cases with its reuse key (host,
// IPA size, NISV choice, AArch64). One prior is the probe's own access over other slots (none,
// read-only or read-write), so that a stage-2 mapping or memory the priors left behind would change
// what the probe sees.

import fc from 'fast-check';
import type { AccessCase, ReuseCase } from '../../core/cases.ts';
import type { GenContext } from '../../core/property.ts';
import { KVM_MEM_READONLY } from '../../arch/kvm.ts';
import { accessCase } from './accessCase.ts';
import { aarch64State } from './guestState.ts';

/** The probe's access over its slots with KVM_MEM_READONLY flipped, or over no slot at all. */
function shadow(probe: AccessCase, how: 'flip' | 'none'): AccessCase {
  const slots = how === 'none' ? [] : probe.slots.map((s) => ({ ...s, flags: s.flags ^ KVM_MEM_READONLY }));
  return { ...probe, slots, access: { ...probe.access, kind: probe.access.kind === 'load' ? 'store' : probe.access.kind } };
}

export function reuseCase(g: GenContext): fc.Arbitrary<ReuseCase> {
  return accessCase(g, { states: aarch64State }).chain((probe) => {
    const same = (c: AccessCase): AccessCase => ({ ...c, host: probe.host, ipaBits: probe.ipaBits, nisvToUser: probe.nisvToUser });
    return fc
      .record({
        others: fc.array(accessCase({ info: { ...g.info, host: probe.host } }, { states: aarch64State }).map(same), {
          minLength: 0,
          maxLength: 2,
        }),
        shadowed: fc.constantFrom<'flip' | 'none' | 'skip'>('flip', 'none', 'skip'),
      })
      .map(({ others, shadowed }): ReuseCase => {
        const prior = shadowed === 'skip' ? others : [...others, shadow(probe, shadowed)];
        return { prior: prior.length > 0 ? prior : [shadow(probe, 'flip')], probe };
      });
  });
}
