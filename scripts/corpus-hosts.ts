// npm run corpus-hosts: the regression corpus for the real CI hosts. For every simulator mutant and
// every host of HOSTS (what the CI targets report), the mutant's kernel (the simulated kernel of that
// release with the bug put back) is run against the oracle with the host pinned, as on the real
// target; a mutant caught there gets an entry <mutant>.<host> (shrunk counterexample), which every
// run on that target then replays as it is. Entries recorded for other hosts are re-targeted where
// they still catch their bug (cli/regress.ts); this makes the corpus gate the real CI kernels too.

import { join } from 'node:path';
import { simulatedKernel } from '../adapters/simulator/kernels.ts';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { MUTANTS } from '../adapters/simulator/mutants.ts';
import type { HostConfig, TargetInfo } from '../core/target.ts';
import { addToCorpus, entryFromResult } from '../core/regressions.ts';
import { runProperty } from '../core/runner.ts';
import { propertyId } from '../core/property.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'regressions');

/** The hosts of the CI targets as they report themselves (summary.json target.host), with their release. */
const HOSTS: readonly {
  readonly name: string;
  readonly target: string;
  readonly release: readonly [number, number, number];
  readonly host: HostConfig;
}[] = [
  {
    name: 'a57-6.1',
    target: 'qemu:cortex-a57@6.1',
    release: [6, 1, 176],
    host: { parange: 4, granule: 4, lpa2: false, kernelPaBits: 48, vaBits: 48, mode: 'nvhe' },
  },
  {
    name: 'max-6.12',
    target: 'qemu:max@6.12',
    release: [6, 12, 95],
    host: { parange: 6, granule: 4, lpa2: true, kernelPaBits: 52, vaBits: 52, mode: 'vhe' },
  },
];

for (const h of HOSTS) {
  const profile = getProfile(`v${h.release.join('.')}`) as Profile;
  const release = simulatedKernel([h.release[0], h.release[1]], h.release[2]);
  for (const m of MUTANTS) {
    const target = simulatorTarget({ knobs: { ...release, ...m.knobs }, label: `sim:${m.name}` });
    const info: TargetInfo = { kind: 'sim', spec: `sim:${m.name}`, host: h.host, cannot: { 'host-any': 'pinned to a CI host' } };
    let recorded = false;
    for (const p of ALL_PROPERTIES) {
      if (p.kind !== 'conformance' || (p.needs ?? []).includes('host-any')) continue;
      const r = await runProperty(p, { target, info, profile }, { runs: 300, seed: 1, strict: false });
      if (r.verdict !== 'fail') continue;
      const e = entryFromResult(r, {
        profile: profile.name,
        strict: false,
        target: `sim:${m.name}`,
        date: new Date().toISOString().slice(0, 10),
        note: `mutant ${m.name} on the host of ${h.target} (${m.upstream})`,
      });
      const w = addToCorpus(DIR, `${m.name}.${h.name}`, e, ALL_PROPERTIES);
      process.stdout.write(`${w.added ? 'recorded' : 'already in the corpus'}: ${m.name}.${h.name}: ${propertyId(p)}\n`);
      recorded = true;
      break;
    }
    if (!recorded) process.stdout.write(`not caught on ${h.name}: ${m.name}\n`);
  }
}
