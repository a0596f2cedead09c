// kcidb.json: a run as a KernelCI KCIDB submission, schema v5.3 (kernelci/kcidb-io
// kcidb_io/schema/v05_03.py). One checkout and one build for the kernel under test, one test per
// property (and per regression-corpus entry). Nothing is sent: `s2conform kcidb` merges runs into one
// file and docs/reports.md ("KCIDB") says how to submit it.

import { createHash } from 'node:crypto';
import type { Json } from '../core/json.ts';
import type { PropertyResult, Summary } from '../core/result.ts';
import { defined } from '../core/object.ts';

export const KCIDB_ORIGIN = 's2conform';

export interface KcidbCheckout {
  id: string;
  origin: string;
  tree_name?: string;
  comment?: string;
  start_time?: string;
  valid?: boolean;
  misc?: { [k: string]: Json };
}

export interface KcidbBuild {
  id: string;
  checkout_id: string;
  origin: string;
  architecture?: string;
  config_name?: string;
  compiler?: string;
  comment?: string;
  start_time?: string;
  status?: KcidbStatus;
  misc?: { [k: string]: Json };
}

export type KcidbStatus = 'FAIL' | 'ERROR' | 'MISS' | 'PASS' | 'DONE' | 'SKIP';

export interface KcidbTest {
  id: string;
  build_id: string;
  origin: string;
  path: string;
  status: KcidbStatus;
  environment: { comment: string; misc?: { [k: string]: Json } };
  comment?: string;
  log_excerpt?: string;
  start_time?: string;
  duration?: number;
  misc: { [k: string]: Json };
}

export interface KcidbSubmission {
  version: { major: 5; minor: 3 };
  checkouts: KcidbCheckout[];
  builds: KcidbBuild[];
  tests: KcidbTest[];
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const obj = (j: Json | undefined): { [k: string]: Json } => (j !== null && typeof j === 'object' && !Array.isArray(j) ? j : {});
const str = (j: Json | undefined): string | undefined => (typeof j === 'string' ? j : undefined);

/** A path segment the schema takes ([a-zA-Z0-9_-]+): every other character becomes '_'. */
export function pathSegment(s: string): string {
  const t = s.replace(/[^a-zA-Z0-9_-]/g, '_');
  return t === '' ? '_' : t;
}

/** s2conform.<family>.<property>: a property name's '/' separates segments, other characters are made legal. */
export function testPath(family: string, name: string): string {
  return ['s2conform', family, ...name.split('/')].map(pathSegment).join('.');
}

const STATUS: Readonly<Record<PropertyResult['verdict'], KcidbStatus>> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP', error: 'ERROR' };

/** What identifies the kernel under test: its image's sha256, else its release, else the simulated profile. */
function kernelKey(s: Summary): { key: string; label: string } {
  const t = obj(s.target);
  const k = obj(t['kernel']);
  const image = str(k['sha256']);
  const debs = Array.isArray(k['packages']) ? k['packages'].map((p) => str(obj(p)['sha256']) ?? '').join(',') : undefined;
  const release = str(t['kernelRelease']);
  const label = str(t['kernelVersion']) ?? release ?? `simulated ${s.profile}`;
  if (image) return { key: image, label };
  if (debs) return { key: sha(debs), label };
  return { key: sha(`${str(t['kind']) ?? 'sim'}:${release ?? s.profile}`), label };
}

/** One run as a KCIDB v5.3 submission. */
export function toKcidb(s: Summary): KcidbSubmission {
  const t = obj(s.target);
  const k = obj(t['kernel']);
  const emu = obj(t['emulator']);
  const { key, label } = kernelKey(s);
  const checkoutId = `${KCIDB_ORIGIN}:${key}`;
  const buildId = `${KCIDB_ORIGIN}:${key}:arm64`;
  const spec = str(t['spec']) ?? 'sim';
  const run = sha(`${spec}|${s.profile}|${s.seed}|${s.started ?? ''}|${s.strict}`).slice(0, 16);
  const start = s.started;
  const procVersion = str(k['procVersion']);
  const compiler = procVersion ? /\((\S*gcc[^)]*\)[^,)]*)/.exec(procVersion)?.[1] : undefined;
  const env = {
    comment: spec,
    misc: {
      ...defined({ cpu: t['cpu'], mode: t['mode'], emulator: emu['version'] }),
      profile: s.profile,
    },
  };
  const checkout: KcidbCheckout = {
    id: checkoutId,
    origin: KCIDB_ORIGIN,
    tree_name: str(t['kind']) === 'sim' || t['kind'] === undefined ? 's2conform-simulator' : 'debian-or-local',
    comment: `kernel under test: ${label}`,
    valid: true,
    ...(start ? { start_time: start } : {}),
    misc: { kernel: k, ...(str(t['kernelRelease']) ? { release: str(t['kernelRelease']) ?? '' } : {}) },
  };
  const build: KcidbBuild = {
    id: buildId,
    checkout_id: checkoutId,
    origin: KCIDB_ORIGIN,
    architecture: 'arm64',
    ...(str(k['config']) ? { config_name: str(k['config']) ?? '' } : {}),
    ...(compiler ? { compiler } : {}),
    comment: label,
    status: 'PASS', // it booted and ran: a kernel that does not boot never reaches a report
    ...(start ? { start_time: start } : {}),
    misc: defined({ pageSize: k['pageSize'] }),
  };
  /** One KCIDB test: what every test of this run shares, and what is its own. */
  const test = (path: string, verdict: PropertyResult['verdict'], own: Pick<KcidbTest, 'misc'> & Partial<KcidbTest>): KcidbTest => ({
    id: `${KCIDB_ORIGIN}:${key}:${run}:${path}`,
    build_id: buildId,
    origin: KCIDB_ORIGIN,
    path,
    status: STATUS[verdict],
    environment: env,
    ...(start ? { start_time: start } : {}),
    ...own,
  });
  const tests: KcidbTest[] = s.properties.map((p) => {
    const diff = (p.diff ?? []).map((d) => `${d.path}: expected ${JSON.stringify(d.expected)}, got ${JSON.stringify(d.actual)}`);
    const known = p.known?.map((h) => `${h.id} (${h.kind}, ${h.cases} cases): ${h.reference}`);
    const excerpt = [...(p.reason ? [p.reason] : []), ...diff.slice(0, 20)].join('\n');
    return test(testPath(p.family, p.name), p.verdict, {
      ...(known ? { comment: `known deviation: ${known.join('; ')}` } : {}),
      ...(excerpt ? { log_excerpt: excerpt.slice(0, 16384) } : {}),
      duration: p.durationMs / 1000,
      misc: {
        seed: p.seed,
        runs: p.runs,
        ...defined({ path: p.path, replay: p.replay, counterexample: p.counterexample }),
        ...(p.diff ? { diff: p.diff.map((d) => ({ path: d.path, expected: d.expected, actual: d.actual })) } : {}),
        ...(p.finding ? { finding: p.finding } : {}),
        ...(known ? { known } : {}),
        ...(p.crosscheck ? { crosscheck: p.crosscheck.pointsAt } : {}),
      },
    });
  });
  for (const r of s.regressions ?? []) {
    tests.push(test(testPath('regressions', r.id), r.verdict, { ...(r.reason ? { log_excerpt: r.reason.slice(0, 16384) } : {}), misc: { property: r.property } }));
  }
  return { version: { major: 5, minor: 3 }, checkouts: [checkout], builds: [build], tests };
}

/** Several runs as one submission: checkouts and builds of the same kernel appear once. */
export function mergeKcidb(subs: readonly KcidbSubmission[]): KcidbSubmission {
  const checkouts = new Map<string, KcidbCheckout>();
  const builds = new Map<string, KcidbBuild>();
  const tests = new Map<string, KcidbTest>();
  for (const x of subs) {
    for (const c of x.checkouts) if (!checkouts.has(c.id)) checkouts.set(c.id, c);
    for (const b of x.builds) if (!builds.has(b.id)) builds.set(b.id, b);
    for (const t of x.tests) tests.set(t.id, t);
  }
  return { version: { major: 5, minor: 3 }, checkouts: [...checkouts.values()], builds: [...builds.values()], tests: [...tests.values()] };
}
