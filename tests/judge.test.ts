// One verdict function (core/judge.ts): a corpus entry of a property whose target gives the
// expectation (expectOn: abort/reuse-equivalence, a reused VM against a fresh one) is judged as the
// runner judges that property, not against the oracle.

import { describe, expect, it } from 'vitest';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { getMutant } from '../adapters/simulator/mutants.ts';
import { propertyId, type AnyConformance } from '../core/property.ts';
import { loadCorpus, parseRegression, replayRegressions, type RegressionEntry } from '../core/regressions.ts';
import { runProperty } from '../core/runner.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';
import { REGRESSIONS_DIR } from '../cli/regress.ts';

const mainline = getProfile('mainline') as Profile;
const reuse = ALL_PROPERTIES.find((p): p is AnyConformance => p.kind === 'conformance' && propertyId(p) === 'abort/reuse-equivalence');
// the mutant's own entry: an abort/routing case whose FAR the mutant gets wrong
const far = loadCorpus(REGRESSIONS_DIR, ALL_PROPERTIES).find((r) => r.id === 'far-without-page-offset');
const mutant = getMutant('far-without-page-offset');

const entry = (expected: RegressionEntry['expected']): RegressionEntry => ({
  property: 'abort/reuse-equivalence',
  case: { prior: [far?.case ?? null], probe: far?.case ?? null },
  seed: 1,
  path: '0',
  profile: 'mainline',
  strict: false,
  target: 'sim:reuse-broken',
  expected,
  date: '2026-12-08',
});
const parse = (e: RegressionEntry) => parseRegression(JSON.stringify(e), 'fixtures/regressions/reuse.json', ALL_PROPERTIES);

describe('a corpus entry of a property with expectOn', () => {
  it('is judged as the runner judges it: a bug the reused and the fresh VM share passes', async () => {
    if (!reuse || !far || !mutant) throw new Error('abort/reuse-equivalence, the far-without-page-offset entry or its mutant missing');
    const target = simulatorTarget({ knobs: mutant.knobs, label: 'sim:far-without-page-offset' });
    const info = await target.open();
    const ctx = { target, info, profile: mainline, strict: false };
    // the oracle disagrees with this kernel on the probe ...
    const [asRouting] = await replayRegressions(ctx, [far]);
    expect(asRouting?.verdict).toBe('fail');
    // ... but the property compares the reused VM with a fresh one, which agree: the runner passes it
    const run = await runProperty(reuse, { target, info, profile: mainline }, { runs: 100, seed: 1, strict: false });
    expect(run.verdict).toBe('pass');
    // the entry, recorded with what the oracle predicts for a fresh VM, replays as the runner judges
    const [res] = await replayRegressions(ctx, [parse(entry({ probe: far.expected, onReusedVm: true }))]);
    expect(res?.verdict, `${res?.reason ?? ''} ${JSON.stringify(res?.diff)}`).toBe('pass');
  });

  it('is never stale: its recorded expectation was a target observation, not the oracle', async () => {
    const target = simulatorTarget();
    const [res] = await replayRegressions({ target, info: await target.open(), profile: mainline, strict: false }, [
      parse(entry({ probe: { vm: 'ENOMEM' }, onReusedVm: false })),
    ]);
    expect(res?.verdict).toBe('pass');
  });
});
