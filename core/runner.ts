// Runs properties with fast-check against one target and one profile.
// A rule failure is a `fail` with a shrunk, replayable counterexample; a
// target that breaks under a case is an `error`, never a pass or a fail.

import fc from 'fast-check';
import { toJson } from './json.ts';
import type { AnyConformance, AnyDesign, AnyProperty } from './property.ts';
import type { KnownHit, PropertyResult } from './result.ts';
import type { KnownDeviation } from './deviations.ts';
import { judge, type Judgement, type Settled } from './judge.ts';
import type { Target, TargetInfo } from './target.ts';
import { OVERLAPS } from './families.ts';
import type { Profile } from './profile.ts';

export interface RunOptions {
  readonly runs: number;
  readonly seed: number;
  /** replay path (fast-check's counterexamplePath); only with a single property */
  readonly path?: string;
  readonly strict: boolean;
  /** how to write the command that replays a property (the CLI knows its flags) */
  readonly replayCommand?: (p: AnyProperty, seed: number, path: string) => string;
  /** called after every case a property ran (progress reporting) */
  readonly onCase?: () => void;
}

export interface RunContext {
  readonly target: Target;
  readonly info: TargetInfo;
  readonly profile: Profile;
  /** known deviations that apply to this property on this target */
  readonly deviations?: readonly KnownDeviation[];
}

export async function runProperty(p: AnyProperty, ctx: RunContext, o: RunOptions): Promise<PropertyResult> {
  const t0 = performance.now();
  await turn(); // a signal that arrived during the last property is handled before this one starts
  const before = ctx.target.vmCounts?.();
  const r = p.kind === 'design' ? runDesign(p, o) : await runConformance(p, ctx, o);
  const after = ctx.target.vmCounts?.();
  const vms = before && after ? { fresh: after.fresh - before.fresh, reused: after.reused - before.reused } : undefined;
  return { ...r, ...(vms && vms.fresh + vms.reused > 0 ? { vms } : {}), durationMs: Math.round(performance.now() - t0) };
}

type Outcome = Omit<PropertyResult, 'durationMs'>;

function base(p: AnyProperty, o: RunOptions): Pick<PropertyResult, 'family' | 'name' | 'seed'> {
  return { family: p.family, name: p.name, seed: o.seed };
}

function params(o: RunOptions): fc.Parameters<unknown> {
  return o.path === undefined ? { numRuns: o.runs, seed: o.seed } : { numRuns: o.runs, seed: o.seed, path: o.path };
}

const caseKey = (c: unknown): string => JSON.stringify(toJson(c));

/**
 * Observations ahead of fast-check. fc.sample of the property's arbitrary, with the same seed and
 * runs, draws the cases fc.check will then run, in the same order (tests/pipeline.test.ts checks it); the next `depth` of them are observed
 * at once on the target's pipelined channel, each on its own VM (OVERLAPS says which case kinds
 * allow it). fast-check still runs every case through the predicate, in its own order, and a case
 * that was not drawn ahead (a shrink) is observed then, alone. An observation that failed ahead is
 * done again in line, so a dead target is restarted exactly as without this.
 */
class Ahead {
  private readonly started = new Map<string, Promise<Settled>[]>();
  private readonly all: Promise<Settled>[] = [];
  private next = 0;

  constructor(
    private readonly cases: readonly unknown[],
    private readonly depth: number,
    private readonly observe: (c: unknown) => Promise<unknown>,
  ) {}

  /** fast-check is at its `at`-th case: have the observations up to `at + depth` started. */
  fill(at: number): void {
    for (; this.next < this.cases.length && this.next <= at + this.depth; this.next++) {
      const c = this.cases[this.next];
      const p = this.observe(c).then(
        (v): Settled => ({ ok: true, v }),
        (e: unknown): Settled => ({ ok: false, e }),
      );
      const k = caseKey(c);
      const q = this.started.get(k);
      if (q) q.push(p);
      else this.started.set(k, [p]);
      this.all.push(p);
    }
  }

  /** The observation started for this case, if one was. */
  take(c: unknown): Promise<Settled> | undefined {
    const k = caseKey(c);
    const q = this.started.get(k);
    const p = q?.shift();
    if (q && q.length === 0) this.started.delete(k);
    return p;
  }

  /** Waits for every observation started (a property ends with none of its cases in flight). */
  async drain(): Promise<void> {
    await Promise.all(this.all);
  }
}

/** One turn of the event loop: signal handlers and timers run (the simulator answers in microtasks only). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** At most every YIELD_MS a case waits one turn of the event loop, so Ctrl-C stops a long simulator run. */
const YIELD_MS = 50;

async function runConformance(p: AnyConformance, ctx: RunContext, o: RunOptions): Promise<Outcome> {
  const cannot = p.needs?.map((n) => ctx.info.cannot?.[n]).find((why) => why !== undefined);
  if (cannot !== undefined) return { ...base(p, o), verdict: 'skip', runs: 0, reason: cannot };

  let last: Judgement | undefined;
  let broken: Error | undefined;
  let executed = 0;
  const known = new Map<string, KnownHit>();
  let sample: PropertyResult['sample'];
  let lastTurn = performance.now();
  let ahead: Ahead | undefined;
  let calls = 0;
  let failing = false;
  const arb = p.arbitrary({ info: ctx.info });
  const jctx = { ...ctx, strict: o.strict };
  const prop = fc.asyncProperty(arb, async (c) => {
    if (broken) return true; // the target is gone: the verdict is already `error`
    if (performance.now() - lastTurn >= YIELD_MS) {
      await turn();
      lastTurn = performance.now();
    }
    if (!failing) ahead?.fill(calls);
    calls++;
    const early = ahead?.take(c);
    let j: Judgement;
    try {
      j = await judge(p, c, jctx, early);
    } catch (e) {
      broken = e instanceof Error ? e : new Error(String(e));
      return true;
    }
    executed++;
    sample ??= { case: toJson(c), observed: toJson(j.actual) };
    o.onCase?.();
    if (!j.diff) return true;
    if (j.known) {
      const hit = known.get(j.known.id);
      known.set(j.known.id, hit ? { ...hit, cases: hit.cases + 1 } : j.known);
      return true;
    }
    last = j;
    failing = true; // fast-check shrinks from here: its cases are no longer the ones drawn ahead
    return false;
  });
  const depth = ctx.target.pipelineDepth ?? 1;
  if (depth > 1 && o.path === undefined && OVERLAPS[p.caseKind]) {
    const drawn = fc.sample(arb, { numRuns: o.runs, seed: o.seed });
    ahead = new Ahead(drawn, depth, (c) => p.observe(c, ctx.target));
  }
  const d = await fc.check(prop, params(o));
  await ahead?.drain();
  if (broken) {
    return { ...base(p, o), verdict: 'error', runs: executed, reason: `${broken.name}: ${broken.message}` };
  }
  const extras = {
    ...(sample ? { sample } : {}),
    ...(known.size > 0 ? { known: [...known.values()], finding: 'known-deviation' as const } : {}),
  };
  if (!d.failed) return { ...base(p, o), verdict: 'pass', runs: d.numRuns, ...extras };
  if (!last || !d.counterexample) {
    const err = d.errorInstance instanceof Error ? d.errorInstance.message : 'property failed without a comparison';
    return { ...base(p, o), verdict: 'error', runs: d.numRuns, reason: err };
  }
  const path = d.counterexamplePath ?? '';
  return {
    ...base(p, o),
    verdict: 'fail',
    runs: d.numRuns,
    path,
    counterexample: toJson((d.counterexample as readonly unknown[])[0]),
    expected: toJson(last.expected),
    actual: toJson(last.actual),
    diff: last.diff,
    ...(o.replayCommand ? { replay: o.replayCommand(p, o.seed, path) } : {}),
    ...extras,
  };
}

/**
 * Design checks touch no target and cost microseconds, so they never run fewer than this many cases:
 * an expected finding must not go missing because a slow real target asked for few runs.
 */
export const DESIGN_MIN_RUNS = 200;

function runDesign(p: AnyDesign, given: RunOptions): Outcome {
  const o = given.path === undefined ? { ...given, runs: Math.max(given.runs, DESIGN_MIN_RUNS) } : given;
  let why: string | null = null;
  const d = fc.check(
    fc.property(p.arbitrary(), (c) => {
      const w = p.check(c);
      o.onCase?.();
      if (w !== null) why = w;
      return w === null;
    }),
    params(o),
  );
  const path = d.counterexamplePath ?? '';
  const found =
    d.failed && d.counterexample
      ? { path, counterexample: toJson((d.counterexample as readonly unknown[])[0]), reason: why ?? 'requirement violated' }
      : undefined;
  if (p.violated) {
    if (found) {
      // the shrunk counterexample above, and how common violations are over a full sample
      const sample = fc.sample(p.arbitrary(), { numRuns: o.runs, seed: o.seed });
      const violating = sample.filter((c) => p.check(c) !== null).length;
      return {
        ...base(p, o),
        verdict: 'pass',
        runs: sample.length,
        finding: 'expected',
        ...found,
        reason: `${found.reason} (${violating} of ${sample.length} cases violate the requirement)`,
      };
    }
    return {
      ...base(p, o),
      verdict: 'fail',
      runs: d.numRuns,
      reason: `the thread shows this design breaking the requirement, but ${d.numRuns} runs found no counterexample`,
    };
  }
  if (found) {
    return {
      ...base(p, o),
      verdict: 'fail',
      runs: d.numRuns,
      ...found,
      ...(o.replayCommand ? { replay: o.replayCommand(p, o.seed, path) } : {}),
    };
  }
  return { ...base(p, o), verdict: 'pass', runs: d.numRuns };
}
