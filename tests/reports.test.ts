// The reports beside summary.json, checked by real consumers: ktap.txt
// by the kernel's own KTAP parser (kunit_parser.py from Debian's linux-source
// package, fetched into a cache by tests/support/kunit-parser.sh), junit.xml parsed
// back, index.html and `s2conform report` loaded in headless Chromium.

import { execa } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PropertyResult, Summary } from '../core/result.ts';
import { renderJunit } from '../reports/junit.ts';
import { renderKtap } from '../reports/ktap.ts';
import { REPORT_FILES } from '../reports/write.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 's2conform.mjs');
const PARSE_KTAP = join(ROOT, 'tests', 'support', 'parse_ktap.py');
const FETCH_KUNIT = join(ROOT, 'tests', 'support', 'kunit-parser.sh');

/** The kernel's parser, from Debian's linux-source package (cached after the first time). */
let kunitDir: Promise<string> | undefined;
function kunitParserDir(): Promise<string> {
  kunitDir ??= execa('bash', [FETCH_KUNIT]).then(
    (r) => r.stdout.trim().split('\n').pop() ?? '',
    (e: unknown) => {
      throw new Error(`cannot get the kernel's KTAP parser from Debian's linux-source-6.1: ${String(e)}`);
    },
  );
  return kunitDir;
}

const cli = (...args: string[]) => execa('node', [BIN, ...args], { reject: false, env: { NO_COLOR: '' } });
const tmp = () => mkdtempSync(join(tmpdir(), 's2c-rep-'));
const load = (dir: string): Summary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;

// --- KTAP ---------------------------------------------------------------------

interface KunitTest {
  name: string;
  status: string;
  errors: number;
  counts: { passed: number; failed: number; crashed: number; skipped: number; errors: number };
  log: string[];
  subtests: KunitTest[];
}

async function kunit(file: string): Promise<KunitTest> {
  const r = await execa('python3', [PARSE_KTAP, file, await kunitParserDir()], { reject: false, env: { PYTHONDONTWRITEBYTECODE: '1' } });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as KunitTest;
}

function parserErrors(t: KunitTest): number {
  return t.errors + t.subtests.reduce((a, s) => a + parserErrors(s), 0);
}

/**
 * What kunit_parser.py does not check (it strips leading whitespace): every
 * nested block indented by exactly two more spaces, opened by a version line and
 * its plan, numbered 1..N, closed by its parent's result line one level out.
 */
function checkKtapLayout(text: string): void {
  const lines = text.replace(/\n$/, '').split('\n');
  let i = 0;
  const block = (indent: number): void => {
    const pad = ' '.repeat(indent);
    expect(lines[i++]).toBe(`${pad}KTAP version 1`);
    while (lines[i]?.startsWith(`${pad}# `)) i++;
    const plan = /^1\.\.(\d+)$/.exec(lines[i++]?.slice(indent) ?? '');
    expect(plan, `plan after the version line at indent ${indent}`).not.toBeNull();
    const n = Number(plan?.[1]);
    for (let k = 1; k <= n; k++) {
      while (lines[i]?.startsWith(`${pad}# `)) i++;
      if (lines[i] === `${pad}  KTAP version 1`) block(indent + 2);
      while (lines[i]?.startsWith(`${pad}# `)) i++;
      const line = lines[i++] ?? '';
      expect(line.startsWith(pad) && !line.startsWith(`${pad} `), `indentation of '${line}'`).toBe(true);
      const m = /^(ok|not ok) (\d+) ([^#]+?)( # (SKIP|ERROR) .*)?$/.exec(line.slice(indent));
      expect(m, `result line '${line}'`).not.toBeNull();
      expect(Number(m?.[2])).toBe(k);
    }
  };
  block(0);
  while (i < lines.length) expect(lines[i++]).toMatch(/^# /);
}

function result(over: Partial<PropertyResult> & Pick<PropertyResult, 'name' | 'verdict'>): PropertyResult {
  return { family: 'abort', runs: 10, seed: 7, durationMs: 3, ...over };
}

function summary(props: PropertyResult[], over: Partial<Summary> = {}): Summary {
  const t = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const p of props) t[p.verdict]++;
  return {
    tool: 's2conform',
    version: '0.1.0',
    target: { kind: 'qemu', spec: 'qemu:max,nvhe@6.8', host: 'any' },
    profile: 'v6.8-regression',
    strict: false,
    seed: 7,
    properties: props,
    totals: t,
    durationMs: 12,
    complete: true,
    ...over,
  };
}

const NASTY = 'reason with <xml> & "quotes" \'apos\' # hash\nsecond line \u0001 control';

const mixed = summary([
  result({ family: 'vm-create', name: 'type-word', verdict: 'pass' }),
  result({ family: 'vm-create', name: 'ipa#limit', verdict: 'skip', reason: 'needs a 52-bit host\n(this one has 48)' }),
  result({ name: 'aarch32', verdict: 'skip', reason: 'the target cannot run AArch32 guests' }),
  result({ name: 'routing', verdict: 'error', reason: NASTY }),
  result({
    name: 'beyond-limit',
    verdict: 'fail',
    path: '3:1',
    counterexample: { ipa: '0x1000000000000', note: '<&>' },
    expected: { esr: '0x96000000' },
    actual: { esr: '0x96000010' },
    diff: [
      {
        path: 'outcome.esr',
        expected: '0x96000000',
        actual: '0x96000010',
        decoded: { FSC: { expected: '0x0 (address size fault, level 0)', actual: '0x10 (synchronous external abort)' } },
      },
    ],
    replay: 'npx s2conform run --target qemu:max,nvhe@6.8 --property abort/beyond-limit --seed 7 --path 3:1 --runs 10',
  }),
]);

describe('ktap.txt', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tmp();
    const r = await cli('run', '--profile', 'pre-5.18', '--seed', '11', '--report', dir, '--quiet');
    expect(r.exitCode).toBe(1);
  });

  it('is written next to summary.json with the other reports', () => {
    for (const f of REPORT_FILES) expect(existsSync(join(dir, f)), f).toBe(true);
  });

  it('is KTAP version 1 that the kernel parser reads as target -> family -> property, with no parse errors', async () => {
    const text = readFileSync(join(dir, 'ktap.txt'), 'utf8');
    checkKtapLayout(text);
    const t = await kunit(join(dir, 'ktap.txt'));
    const s = load(dir);
    expect(parserErrors(t)).toBe(0);
    expect(t.status).toBe('FAILURE');
    expect(t.counts).toMatchObject({ passed: s.totals.pass, failed: s.totals.fail, skipped: 0, crashed: 0 });
    expect(t.subtests.map((x) => x.name)).toEqual(['sim']);
    const families = t.subtests[0]?.subtests ?? [];
    expect(families.map((f) => f.name)).toEqual([...new Set(s.properties.map((p) => p.family))]);
    const leaves = families.flatMap((f) => f.subtests.map((p) => `${f.name}/${p.name}:${p.status}`));
    expect(leaves).toEqual(s.properties.map((p) => `${p.family}/${p.name}:${p.verdict === 'pass' ? 'SUCCESS' : 'FAILURE'}`));
  });

  it('keeps seed, path, counterexample, diff and replay in diagnostic lines before the failing result', async () => {
    const t = await kunit(join(dir, 'ktap.txt'));
    const s = load(dir);
    const failed = s.properties.find((p) => p.verdict === 'fail' && p.family === 'abort');
    const fam = t.subtests[0]?.subtests.find((f) => f.name === 'abort');
    const leaf = fam?.subtests.find((p) => p.name === failed?.name);
    const log = (leaf?.log ?? []).map((l) => l.trim()); // the 6.1 parser keeps the indentation
    expect(leaf?.status).toBe('FAILURE'); // (newer parsers also append the result line to the log)
    expect(log).toContain(`# seed: ${failed?.seed}`);
    expect(log).toContain(`# path: ${failed?.path}`);
    expect(log).toContain(`# counterexample: ${JSON.stringify(failed?.counterexample)}`);
    expect(log).toContain(`# replay: ${failed?.replay}`);
    expect(log.some((l) => l.startsWith('#   outcome.'))).toBe(true);
  });

  it('says SKIP with the reason, ERROR for a broken target, and keeps names free of #', async () => {
    const d = tmp();
    writeFileSync(join(d, 'ktap.txt'), renderKtap(mixed));
    const text = readFileSync(join(d, 'ktap.txt'), 'utf8');
    checkKtapLayout(text);
    expect(text).toContain('ok 2 ipa_limit # SKIP needs a 52-bit host (this one has 48)');
    expect(text).toContain('ok 1 aarch32 # SKIP the target cannot run AArch32 guests');
    expect(text).toMatch(/not ok 2 routing # ERROR reason with <xml>/);
    const t = await kunit(join(d, 'ktap.txt'));
    expect(parserErrors(t)).toBe(0);
    expect(t.subtests[0]?.name).toBe('qemu:max,nvhe@6.8');
    const [vm, abort] = t.subtests[0]?.subtests ?? [];
    expect(vm?.subtests.map((x) => [x.name, x.status])).toEqual([
      ['type-word', 'SUCCESS'],
      ['ipa_limit', 'SKIPPED'],
    ]);
    expect(vm?.status).toBe('SUCCESS');
    expect(abort?.subtests.map((x) => [x.name, x.status])).toEqual([
      ['aarch32', 'SKIPPED'],
      ['routing', 'FAILURE'],
      ['beyond-limit', 'FAILURE'],
    ]);
    expect(t.counts).toMatchObject({ passed: 1, failed: 2, skipped: 2, crashed: 0 });
  });

  it('is valid before any property has finished', async () => {
    const d = tmp();
    writeFileSync(join(d, 'ktap.txt'), renderKtap(summary([], { complete: false })));
    const t = await kunit(join(d, 'ktap.txt'));
    expect(t.subtests).toEqual([]);
    expect(readFileSync(join(d, 'ktap.txt'), 'utf8')).toMatch(/^KTAP version 1\n1\.\.0\n/);
  });
});

// --- JUnit --------------------------------------------------------------------

// fast-xml-parser: small, maintained, no dependencies beyond strnum; its
// XMLValidator rejects ill-formed XML (bad escapes, stray control characters),
// and its parser gives the tree back with attributes and entities decoded.
const xml = new XMLParser({
  ignoreAttributes: false,
  htmlEntities: true,
  attributeNamePrefix: '@',
  isArray: (n) => ['testsuite', 'testcase', 'property'].includes(n),
});

type Node = Record<string, unknown>;
const nodes = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : v === undefined ? [] : [v as Node]);

describe('junit.xml', () => {
  it('has a testsuite per family and a testcase per property, failures with diff and replay', async () => {
    const dir = tmp();
    await cli('run', '--profile', 'pre-5.18', '--seed', '11', '--report', dir, '--quiet');
    const text = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(XMLValidator.validate(text)).toBe(true);
    const doc = xml.parse(text) as Node;
    const root = doc['testsuites'] as Node;
    const s = load(dir);
    expect(Number(root['@tests'])).toBe(s.properties.length);
    expect(Number(root['@failures'])).toBe(s.totals.fail);
    const suites = nodes(root['testsuite']);
    expect(suites.map((x) => x['@name'])).toEqual([...new Set(s.properties.map((p) => `sim/${p.family}`))]);
    const cases = suites.flatMap((x) => nodes(x['testcase']));
    expect(cases.map((c) => `${String(c['@classname']).split('.').at(-1)}/${c['@name']}`)).toEqual(
      s.properties.map((p) => `${p.family}/${p.name}`),
    );
    const failed = s.properties.find((p) => p.verdict === 'fail' && p.family === 'abort');
    const tc = cases.find((c) => c['@name'] === failed?.name && String(c['@classname']).endsWith('.abort'));
    const f = tc?.['failure'] as Node;
    expect(f['@message']).toContain(`${failed?.diff?.[0]?.path}: expected`);
    expect(String(f['#text'])).toContain(`replay: ${failed?.replay}`);
    expect(String(f['#text'])).toContain(`counterexample: ${JSON.stringify(failed?.counterexample)}`);
  });

  it('escapes everything, says skipped with the reason and error for errors', () => {
    const text = renderJunit(mixed);
    expect(XMLValidator.validate(text)).toBe(true);
    const root = (xml.parse(text) as Node)['testsuites'] as Node;
    expect(root).toMatchObject({ '@tests': '5', '@failures': '1', '@errors': '1', '@skipped': '2' });
    const cases = nodes(root['testsuite']).flatMap((x) => nodes(x['testcase']));
    const by = (n: string) => cases.find((c) => c['@name'] === n) as Node;
    expect((by('ipa#limit')['skipped'] as Node)['@message']).toBe('needs a 52-bit host\n(this one has 48)');
    const err = by('routing')['error'] as Node;
    expect(err['@message']).toBe(NASTY.replace('\u0001', '\uFFFD'));
    const fail = by('beyond-limit')['failure'] as Node;
    expect(fail['@message']).toBe('outcome.esr: expected "0x96000000", actual "0x96000010"');
    expect(String(fail['#text'])).toContain(
      'FSC: expected "0x0 (address size fault, level 0)", actual "0x10 (synchronous external abort)"',
    );
    expect(String(fail['#text'])).toContain('"note":"<&>"');
  });
});

// --- the killed run -------------------------------------------------------------

describe('a run killed in the middle', () => {
  it('leaves every report valid, with what finished', async () => {
    const dir = tmp();
    const p = execa('node', [BIN, 'run', '--family', 'abort', '--runs', '20000', '--seed', '3', '--report', dir, '--quiet'], {
      reject: false,
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const j = join(dir, 'summary.json');
      if (existsSync(j) && (JSON.parse(readFileSync(j, 'utf8')) as Summary).properties.length >= 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    p.kill('SIGKILL');
    await p;
    const s = load(dir);
    expect(s.complete).toBe(false);
    expect(s.properties.length).toBeGreaterThanOrEqual(1);
    const t = await kunit(join(dir, 'ktap.txt'));
    expect(parserErrors(t)).toBe(0);
    checkKtapLayout(readFileSync(join(dir, 'ktap.txt'), 'utf8'));
    const done = t.subtests[0]?.subtests.flatMap((f) => f.subtests) ?? [];
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(XMLValidator.validate(readFileSync(join(dir, 'junit.xml'), 'utf8'))).toBe(true);
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toMatch(/<\/html>\n$/);
  });
});
