// The regression corpus. Strict parsing that names the file and the
// field; one entry per named mutant, recorded against mainline; the replay
// passes on the mainline simulator and fails on the mutant it came from;
// `s2conform regress add` and the replay inside `s2conform run`.

import { execa } from 'execa';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { getMutant, MUTANTS } from '../adapters/simulator/mutants.ts';
import { decodeCase } from '../core/codec.ts';
import { toJson } from '../core/json.ts';
import type { HostConfig } from '../core/target.ts';
import { loadCorpus, parseRegression, replayRegressions, type RegressionEntry } from '../core/regressions.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';
import { REGRESSIONS_DIR } from '../cli/regress.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 's2conform.mjs');
const cli = (...args: string[]) => execa('node', [BIN, ...args], { reject: false });
const mainline = getProfile('mainline') as Profile;
const corpus = loadCorpus(REGRESSIONS_DIR, ALL_PROPERTIES);

const good: RegressionEntry = {
  property: 'vm-create/type-word',
  case: { host: { parange: 1, granule: 16, lpa2: false, kernelPaBits: 48, vaBits: 47, mode: 'nvhe' }, type: '0x0' },
  seed: 1,
  path: '3:1',
  profile: 'mainline',
  strict: false,
  target: 'sim:default-ipa-accepted',
  expected: { result: 'errno', errno: 'EINVAL' },
  date: '2026-11-22',
};
const parse =
  (e: unknown, file = 'fixtures/regressions/x.json') =>
  () =>
    parseRegression(JSON.stringify(e), file, ALL_PROPERTIES);

describe('fixtures/regressions/*.json: strict parsing', () => {
  it('accepts a well-formed entry and decodes its case (64-bit values back to bigint)', () => {
    const r = parse(good)();
    expect(r.id).toBe('x');
    expect(r.decoded).toEqual({ host: good.case && (good.case as { host: unknown }).host, type: 0n });
  });

  it.each([
    [{ ...good, property: undefined }, "x.json: field 'property' is missing"],
    [{ ...good, property: 'vm-create/nope' }, "x.json: field 'property' names no property of the suite"],
    [{ ...good, property: 'encoding/landed/round-trip' }, "x.json: field 'property' 'encoding/landed/round-trip' involves no target"],
    [{ ...good, seed: 1.5 }, "x.json: field 'seed' must be an integer"],
    [{ ...good, path: 'a:b' }, "x.json: field 'path' must be a fast-check path"],
    [{ ...good, strict: 'no' }, "x.json: field 'strict' must be true or false"],
    [{ ...good, date: '22/11/2026' }, "x.json: field 'date' must be a date YYYY-MM-DD"],
    [{ ...good, expected: 'EINVAL' }, "x.json: field 'expected' must be an outcome object"],
    [{ ...good, colour: 'red' }, "x.json: field 'colour' is not a field of a regression case"],
    [{ ...good, case: { ...(good.case as object), type: 0 } }, 'x.json: field \'case.type\' must be a 64-bit "0x…" hex string'],
    [{ ...good, case: { ...(good.case as object), extra: 1 } }, "x.json: field 'case.extra' is not a field of this case"],
    [{ ...good, case: { type: '0x0' } }, "x.json: field 'case.host' is missing"],
    [
      { ...good, case: { ...(good.case as object), host: { ...(good.case as { host: object }).host, granule: 8 } } },
      "x.json: field 'case.host.granule' must be one of 4, 16, 64",
    ],
  ])('names the file and the field: %#', (e, msg) => {
    expect(parse(e)).toThrow(msg);
  });

  it('names the field deep inside a case', () => {
    const bad = {
      ...good,
      property: 'abort/routing',
      case: {
        host: { parange: 5, granule: 4, lpa2: false, kernelPaBits: 48, vaBits: 48, mode: 'vhe' },
        ipaBits: 40,
        slots: [{ slot: 0, flags: 0, guestPhysAddr: '0x1000', memorySize: '0x1000', userspaceAddr: 'somewhere' }],
        state: 'el1h',
        access: { kind: 'load', size: 8, ipa: '0x1000', data: '0x0', syndromeValid: true },
        nisvToUser: false,
      },
    };
    expect(parse(bad)).toThrow(`x.json: field 'case.slots[0].userspaceAddr' must be a "0x…" string or "auto" (a access case)`);
    expect(parse({ ...bad, case: { ...bad.case, slots: [], access: { ...bad.case.access, size: 3 } } })).toThrow(
      "field 'case.access.size' must be one of 1, 2, 4, 8",
    );
    expect(() => parseRegression('{', 'f.json', ALL_PROPERTIES)).toThrow(/^f\.json: not JSON/);
    expect(() => parseRegression('[]', 'f.json', ALL_PROPERTIES)).toThrow('f.json: must be a JSON object');
    expect(parse(good, 'dir/Bad Name.json')).toThrow('the file name must be <id>.json');
  });

  it('decodes every case kind as toJson wrote it', () => {
    for (const r of corpus) expect(toJson(r.decoded)).toEqual(r.case);
    expect(() => decodeCase('memslot', { host: {}, vmType: '0x28', ops: [] })).toThrow("field 'case.host.parange' is missing");
  });
});

describe('the corpus', () => {
  it('holds one entry per named mutant, recorded against mainline on that mutant', () => {
    for (const m of MUTANTS) {
      const r = corpus.find((x) => x.id === m.name);
      expect(r, m.name).toBeDefined();
      expect(r?.profile).toBe('mainline');
      expect(r?.strict).toBe(false);
      expect(r?.target).toBe(`sim:${m.name}`);
    }
  });

  it('conforms on the mainline simulator', async () => {
    const target = simulatorTarget();
    const rs = await replayRegressions({ target, info: await target.open(), profile: mainline, strict: false }, corpus);
    for (const r of rs) expect(r.verdict, `${r.id}: ${r.reason ?? JSON.stringify(r.diff)}`).toBe('pass');
  });

  it('fails on the mutant each entry came from, with the recorded difference', async () => {
    for (const r of corpus) {
      const m = getMutant(r.target.replace(/^sim:/, ''));
      if (!m) continue;
      const target = simulatorTarget({ knobs: m.knobs, label: r.target });
      const [res] = await replayRegressions({ target, info: await target.open(), profile: mainline, strict: false }, [r]);
      expect(res?.verdict, r.id).toBe('fail');
      expect(res?.actual).toEqual(r.actual);
    }
  });

  it('calls an entry stale when the oracle no longer expects what it records', async () => {
    const r = parse({ ...good, expected: { result: 'errno', errno: 'EEXIST' } })();
    const target = simulatorTarget();
    const [res] = await replayRegressions({ target, info: await target.open(), profile: mainline, strict: false }, [r]);
    expect(res?.verdict).toBe('error');
    expect(res?.reason).toMatch(/^stale entry/);
    // under another profile the oracle is asked afresh: pre-5.12 expects the hang, mainline's simulator says EINVAL
    const [old] = await replayRegressions(
      { target, info: await target.open(), profile: getProfile('pre-5.12') as Profile, strict: false },
      [r],
    );
    expect(old?.verdict).toBe('fail');
  });

  it('skips an entry recorded for another host on a fixed-host target', async () => {
    const r = parse(good)();
    const sim = simulatorTarget();
    const host = { parange: 5, granule: 4 as const, lpa2: false, kernelPaBits: 48 as const, vaBits: 48, mode: 'vhe' as const };
    const [res] = await replayRegressions(
      { target: sim, info: { kind: 'qemu', spec: 'qemu:max@6.1', host }, profile: mainline, strict: false },
      [r],
    );
    expect(res?.verdict).toBe('skip');
    expect(res?.reason).toMatch(/recorded for host/);
  });
});

describe('s2conform run and regress', () => {
  it('run replays the corpus first: a mutant fails on its own entry; regress add records a report once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's2c-'));
    const r = await cli(
      'run',
      '--target',
      'sim:memslot-bound-off-by-one',
      '--family',
      'memslot',
      '--runs',
      '50',
      '--seed',
      '4',
      '--report',
      dir,
    );
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^regressions \(fixtures\/regressions\/\): \d+ replayed: \d+ ok, [1-9]\d* failed/m);
    expect(r.stdout).toContain('FAIL regression memslot-bound-off-by-one: memslot/sequence');
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(s.regressions.find((x: { id: string }) => x.id === 'memslot-bound-off-by-one').verdict).toBe('fail');
    expect(s.regressions.every((x: { property: string }) => x.property.startsWith('memslot/'))).toBe(true);

    const corpusDir = mkdtempSync(join(tmpdir(), 's2c-corpus-'));
    const add = await cli('regress', 'add', join(dir, 'summary.json'), '--property', 'memslot/sequence', '--dir', corpusDir);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^added: memslot\/sequence → .*sim-memslot-bound-off-by-one-memslot-sequence\.json$/m);
    const [file] = readdirSync(corpusDir);
    const e = JSON.parse(readFileSync(join(corpusDir, file as string), 'utf8'));
    expect(e).toMatchObject({
      property: 'memslot/sequence',
      seed: 4,
      profile: 'mainline',
      target: 'sim:memslot-bound-off-by-one',
      strict: false,
    });
    expect(e.case).toEqual(s.properties.find((p: { name: string }) => p.name === 'sequence').counterexample);
    const again = await cli('regress', 'add', join(dir, 'summary.json'), '--dir', corpusDir);
    expect(again.stdout).toMatch(/^already in the corpus/m);
    expect(readdirSync(corpusDir)).toHaveLength(1);
    const list = await cli('regress', 'list', '--dir', corpusDir);
    expect(list.stdout).toContain('memslot/sequence  (sim:memslot-bound-off-by-one, mainline, seed 4');
  });

  it('regress add refuses a report without a failed property, and a malformed corpus stops a run naming file and field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's2c-'));
    const ok = await cli('run', '--family', 'vm-create', '--runs', '20', '--seed', '4', '--report', dir, '--quiet');
    expect(ok.exitCode).toBe(0);
    const add = await cli('regress', 'add', join(dir, 'summary.json'));
    expect(add.exitCode).toBe(2);
    expect(add.stderr).toMatch(/no failed property/);

    // a corpus with one bad file
    const bad = mkdtempSync(join(tmpdir(), 's2c-corpus-'));
    writeFileSync(join(bad, 'broken.json'), JSON.stringify({ ...good, case: { ...(good.case as object), type: 40 } }));
    const r = await execa('node', [BIN, 'run', '--runs', '5', '--report', dir], { reject: false, env: { S2C_REGRESSIONS: bad } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/broken\.json: field 'case\.type' must be a 64-bit/);
  });
});

describe('the corpus on a fixed host: entries recorded elsewhere are re-targeted where they still catch their bug', async () => {
  const { replayForRun } = await import('../cli/regress.ts');
  const { simulatorTarget } = await import('../adapters/simulator/index.ts');
  const { twinKnobs } = await import('../cli/twins.ts');
  const { getMutant } = await import('../adapters/simulator/mutants.ts');
  const { profileForRelease } = await import('../oracles/profiles.ts');
  const { ALL_PROPERTIES } = await import('../properties/index.ts');
  const { propertyId } = await import('../core/property.ts');
  const a57: HostConfig = { parange: 4, granule: 4, lpa2: false, kernelPaBits: 48, vaBits: 48, mode: 'nvhe' };
  const info = {
    kind: 'qemu' as const,
    spec: 'qemu:cortex-a57@6.1',
    kernelRelease: '6.1.0-50-cloud-arm64',
    kernelVersion: '6.1.176',
    host: a57,
    cannot: { 'host-any': 'fixed', mte: 'no MTE' },
  };
  const profile = profileForRelease(info.kernelRelease, info.kernelVersion) as Profile;
  const all = ALL_PROPERTIES.map(propertyId);
  it('on the simulated 6.1 with the a57 host, at least half replay, and every skip says why', async () => {
    const target = simulatorTarget({ knobs: twinKnobs(profile) });
    const rs = await replayForRun({ target, info, profile, strict: false, deviations: [] }, all);
    const replayed = rs.filter((r) => r.verdict !== 'skip');
    expect(replayed.length * 2).toBeGreaterThanOrEqual(rs.length);
    expect(replayed.every((r) => r.verdict === 'pass')).toBe(true);
    expect(rs.some((r) => r.retargeted)).toBe(true);
    for (const r of rs.filter((x) => x.verdict === 'skip')) expect(r.reason, r.id).toMatch(/does not catch|MTE|fixed|cannot/);
    expect(rs.find((r) => r.id === 'default-ipa-accepted')?.reason).toMatch(/does not catch default-ipa-accepted/);
  });
  it('a re-targeted entry fails the kernel that has its bug', async () => {
    const m = getMutant('memslot-bound-off-by-one');
    if (!m) throw new Error('mutant missing');
    const target = simulatorTarget({ knobs: { ...twinKnobs(profile), ...m.knobs } });
    const rs = await replayForRun({ target, info, profile, strict: false, deviations: [] }, ['memslot/sequence']);
    const own = rs.find((r) => r.id === 'memslot-bound-off-by-one');
    expect(own).toMatchObject({ verdict: 'fail', retargeted: true });
  });
});
