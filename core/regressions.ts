// The regression corpus: fixtures/regressions/*.json, one shrunk
// counterexample per file, replayed before the properties on every run and
// every target. A file records where the case came from (property, seed,
// path, profile, target, date) and what was expected then; the replay
// judges the case again as its property's run would (core/judge.ts): the
// oracle under the run's profile, or the target itself for a property with
// expectOn, compared exactly with the target's observation.

import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CaseError, decodeCase } from './codec.ts';
import { sameOutcome } from './compare.ts';
import { deviationsFor, FixtureError, type KnownDeviation } from './deviations.ts';
import { judge, type Judgement } from './judge.ts';
import { toJson, type Json } from './json.ts';
import { propertyId, type AnyConformance, type AnyProperty } from './property.ts';
import type { PropertyResult, RegressionResult } from './result.ts';
import type { HostConfig, Target, TargetInfo } from './target.ts';
import type { Profile } from './profile.ts';
import { defined } from './object.ts';

/** One file of the corpus, as written. */
export interface RegressionEntry {
  /** family/name of the property that found it */
  readonly property: string;
  /** the shrunk counterexample, in its JSON form (64-bit values as "0x…") */
  readonly case: Json;
  /** fast-check seed and path it was found with */
  readonly seed: number;
  readonly path: string;
  /** the profile and --strict it was found under, and the target (--target spec) that deviated */
  readonly profile: string;
  readonly strict: boolean;
  readonly target: string;
  /** what the oracle expected under that profile (a replay under it must still expect this) */
  readonly expected: Json;
  /** what the target did then */
  readonly actual?: Json;
  /** YYYY-MM-DD */
  readonly date: string;
  readonly note?: string;
}

/** An entry read from the corpus: validated, its property found, its case decoded. */
export interface Regression extends RegressionEntry {
  /** the file name without .json */
  readonly id: string;
  readonly file: string;
  readonly prop: AnyConformance;
  readonly decoded: unknown;
}

const FIELDS: Record<keyof RegressionEntry, boolean> = {
  property: true,
  case: true,
  seed: true,
  path: true,
  profile: true,
  strict: true,
  target: true,
  expected: true,
  actual: false,
  date: true,
  note: false,
};

const ID = /^[a-z0-9][a-z0-9._-]*$/;

/** Parse one corpus file strictly: every error names the file and the field. */
export function parseRegression(text: string, file: string, properties: readonly AnyProperty[]): Regression {
  const bad = (field: string, why: string): never => {
    throw new FixtureError(`${file}: field '${field}' ${why}`);
  };
  const id = basename(file).replace(/\.json$/, '');
  if (!ID.test(id)) throw new FixtureError(`${file}: the file name must be <id>.json with an id of a-z, 0-9, '.', '_' and '-'`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FixtureError(`${file}: not JSON: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new FixtureError(`${file}: must be a JSON object`);
  const o = doc as Record<string, Json>;
  for (const k of Object.keys(o))
    if (!(k in FIELDS)) bad(k, `is not a field of a regression case (known: ${Object.keys(FIELDS).join(', ')})`);
  for (const [k, required] of Object.entries(FIELDS)) if (required && !(k in o)) bad(k, 'is missing');
  const str = (k: keyof RegressionEntry): string => {
    const v = o[k];
    return typeof v === 'string' && v.length > 0 ? v : bad(k, 'must be a non-empty string');
  };
  const property = str('property');
  const p = properties.find((x) => propertyId(x) === property);
  if (!p) bad('property', `names no property of the suite ('${property}')`);
  if (p?.kind !== 'conformance') return bad('property', `'${property}' involves no target: its counterexamples cannot be replayed`);
  const seed = o['seed'];
  if (typeof seed !== 'number' || !Number.isInteger(seed)) bad('seed', 'must be an integer');
  const path = str('path');
  if (!/^[0-9]+(:[0-9]+)*$/.test(path)) bad('path', 'must be a fast-check path like 12:0:3');
  const profile = str('profile');
  if (typeof o['strict'] !== 'boolean') bad('strict', 'must be true or false');
  const target = str('target');
  const date = str('date');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) bad('date', 'must be a date YYYY-MM-DD');
  if ('note' in o && (typeof o['note'] !== 'string' || o['note'].length === 0)) bad('note', 'must be a non-empty string');
  const expected = o['expected'];
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) bad('expected', 'must be an outcome object');
  if ('actual' in o && (o['actual'] === null || typeof o['actual'] !== 'object' || Array.isArray(o['actual'])))
    bad('actual', 'must be an outcome object');
  let decoded: unknown;
  try {
    decoded = decodeCase(p.caseKind, o['case'] ?? null, 'case');
  } catch (e) {
    if (e instanceof CaseError) throw new FixtureError(`${file}: ${e.message} (a ${p.caseKind} case)`);
    throw e;
  }
  return {
    id,
    file,
    prop: p,
    decoded,
    property,
    case: o['case'] ?? null,
    seed: seed as number,
    path,
    profile,
    strict: o['strict'] as boolean,
    target,
    expected: expected as Json,
    ...defined({ actual: o['actual'] }),
    date,
    ...(typeof o['note'] === 'string' ? { note: o['note'] } : {}),
  };
}

/** Every *.json of a corpus directory, in name order; a missing directory is an empty corpus. */
export function loadCorpus(dir: string, properties: readonly AnyProperty[]): Regression[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = join(dir, f);
      return parseRegression(readFileSync(file, 'utf8'), file, properties);
    });
}

export interface ReplayContext {
  readonly target: Target;
  readonly info: TargetInfo;
  readonly profile: Profile;
  readonly strict: boolean;
  /** all known deviations; those for each entry's property and this target apply */
  readonly deviations?: readonly KnownDeviation[];
  /**
   * An entry recorded for another host, moved onto this target's host: undefined when the moved case
   * still tells the bug it was recorded for from the rule on this host (it is replayed), else why not.
   */
  readonly retarget?: (r: Regression, moved: unknown) => Promise<string | undefined>;
}

/** The same case on another host: every case kind carries its host in `host`. */
function onHost(kase: unknown, host: HostConfig): unknown {
  return typeof kase === 'object' && kase !== null && 'host' in kase ? { ...kase, host } : undefined;
}

/**
 * Replay every entry of the corpus on a target under a profile: each is one
 * case of its property, with a verdict as a property's (pass, fail, skip when
 * the target cannot run the case, error when the target broke or the entry is
 * stale: the oracle no longer expects what was recorded under the same profile).
 */
export async function replayRegressions(ctx: ReplayContext, corpus: readonly Regression[]): Promise<RegressionResult[]> {
  const out: RegressionResult[] = [];
  for (const r of corpus) out.push(await replayOne(ctx, r));
  return out;
}

async function replayOne(ctx: ReplayContext, r: Regression): Promise<RegressionResult> {
  const t0 = performance.now();
  const head = {
    id: r.id,
    file: r.file,
    property: r.property,
    counterexample: r.case,
    origin: { target: r.target, profile: r.profile, seed: r.seed, path: r.path, date: r.date },
  };
  const done = (x: Omit<RegressionResult, keyof typeof head | 'durationMs'>): RegressionResult => ({
    ...head,
    ...x,
    durationMs: Math.round(performance.now() - t0),
  });
  const p = r.prop;
  const cannot = p.needs?.map((n) => ctx.info.cannot?.[n]).find((why) => why !== undefined);
  if (cannot !== undefined) return done({ verdict: 'skip', runs: 0, reason: cannot });
  const host = p.hostOf(r.decoded);
  let kase = r.decoded;
  let retargeted = false;
  if (ctx.info.host !== 'any' && !sameOutcome(host, ctx.info.host)) {
    const recorded = `recorded for host ${JSON.stringify(toJson(host))}`;
    const moved = onHost(r.decoded, ctx.info.host);
    const why =
      moved === undefined ? 'the case has no host to move' : ctx.retarget ? await ctx.retarget(r, moved) : 'no re-targeting on this run';
    if (why !== undefined) return done({ verdict: 'skip', runs: 0, reason: `${recorded}; on this target's host ${why}` });
    kase = moved;
    retargeted = true;
  }
  const moved = retargeted ? { counterexample: toJson(kase), retargeted: true as const } : {};
  // an expectOn property's recorded expectation is what a target observed, not the oracle: it cannot go stale
  if (!p.expectOn && !retargeted && ctx.profile.name === r.profile && ctx.strict === r.strict) {
    const expected = p.expect(kase, { profile: ctx.profile, strict: ctx.strict });
    if (!sameOutcome(expected, r.expected)) {
      return done({
        verdict: 'error',
        runs: 0,
        expected: toJson(expected),
        reason: `stale entry: under ${r.profile} the oracle now expects ${JSON.stringify(toJson(expected))}, the file records ${JSON.stringify(r.expected)}`,
      });
    }
  }
  let j: Judgement;
  try {
    j = await judge(p, kase, { ...ctx, deviations: deviationsFor(ctx.deviations ?? [], r.property, ctx.info) });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return done({ verdict: 'error', runs: 0, reason: `${err.name}: ${err.message}` });
  }
  if (!j.diff) return done({ verdict: 'pass', runs: 1, ...moved });
  if (j.known) return done({ verdict: 'pass', runs: 1, finding: 'known-deviation', known: [j.known], ...moved });
  return done({ verdict: 'fail', runs: 1, expected: toJson(j.expected), actual: toJson(j.actual), diff: j.diff, ...moved });
}

/** A corpus entry from a failed property of a report (summary.json). */
export function entryFromResult(
  r: PropertyResult,
  from: { readonly profile: string; readonly strict: boolean; readonly target: string; readonly date: string; readonly note?: string },
): RegressionEntry {
  if (r.verdict !== 'fail' || r.counterexample === undefined || r.expected === undefined || r.path === undefined) {
    throw new FixtureError(`${r.family}/${r.name}: not a failed property with a counterexample (verdict ${r.verdict})`);
  }
  return {
    property: `${r.family}/${r.name}`,
    case: r.counterexample,
    seed: r.seed,
    path: r.path,
    profile: from.profile,
    strict: from.strict,
    target: from.target,
    expected: r.expected,
    ...defined({ actual: r.actual }),
    date: from.date,
    ...(from.note ? { note: from.note } : {}),
  };
}

/**
 * Write an entry as <dir>/<id>.json, unless the corpus already holds the same
 * case of the same property. Returns the file written, or the file that
 * already had it. An id already taken by another case gets a numeric suffix.
 */
export function addToCorpus(
  dir: string,
  id: string,
  e: RegressionEntry,
  properties: readonly AnyProperty[],
): { file: string; added: boolean } {
  if (!ID.test(id)) throw new FixtureError(`regression id '${id}': use a-z, 0-9, '.', '_' and '-'`);
  const existing = loadCorpus(dir, properties);
  const same = existing.find((x) => x.property === e.property && JSON.stringify(x.case) === JSON.stringify(e.case));
  if (same) return { file: same.file, added: false };
  mkdirSync(dir, { recursive: true });
  let name = id;
  for (let i = 2; existsSync(join(dir, `${name}.json`)); i++) name = `${id}-${i}`;
  const file = join(dir, `${name}.json`);
  const text = `${JSON.stringify(e, null, 2)}\n`;
  parseRegression(text, file, properties); // never write what the loader would refuse
  writeFileSync(file, text, { mode: 0o644 });
  return { file, added: true };
}
