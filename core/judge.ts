// One verdict for one case, wherever it is judged (the runner, the corpus replay, crosscheck's
// observations): what the property expects (the oracle, or the target itself for a property with
// expectOn), what the target observes (one retry after a death), the comparison, and the known
// deviation that explains a difference.

import { diffOutcomes, sameOutcome, type FieldDiff } from './compare.ts';
import { explain, type KnownDeviation } from './deviations.ts';
import { toJson } from './json.ts';
import type { AnyConformance } from './property.ts';
import type { KnownHit } from './result.ts';
import { TargetDied, type Target } from './target.ts';
import type { Profile } from './profile.ts';

export interface JudgeContext {
  readonly target: Target;
  readonly profile: Profile;
  readonly strict: boolean;
  /** the known deviations that apply to this property on this target */
  readonly deviations?: readonly KnownDeviation[];
}

/** An observation made ahead of the judgement (the runner's pipeline), settled either way. */
export type Settled = { readonly ok: true; readonly v: unknown } | { readonly ok: false; readonly e: unknown };

export interface Judgement {
  readonly expected: unknown;
  readonly actual: unknown;
  /** absent when the outcomes agree */
  readonly diff?: FieldDiff[];
  /** the known deviation that explains the difference, as one case of it */
  readonly known?: KnownHit;
}

/** Observe once; if the target died, bring it back and try the case once more. */
export async function observeWithRetry(p: AnyConformance, c: unknown, t: Target): Promise<unknown> {
  try {
    return await p.observe(c, t);
  } catch (e) {
    if (!(e instanceof TargetDied) || !t.restart) throw e;
    await t.restart();
    return await p.observe(c, t);
  }
}

/** The observation made ahead if it succeeded; else (or when there was none) observed now, with one retry after a death. */
async function observation(p: AnyConformance, c: unknown, t: Target, early?: Promise<Settled>): Promise<unknown> {
  const got = early ? await early : undefined;
  if (got?.ok) return got.v;
  if (got && !(got.e instanceof TargetDied)) throw got.e;
  return observeWithRetry(p, c, t);
}

/** Judge one case; throws when the target broke under it (the caller's verdict is then `error`). */
export async function judge(p: AnyConformance, c: unknown, ctx: JudgeContext, early?: Promise<Settled>): Promise<Judgement> {
  const expected = p.expectOn ? await p.expectOn(c, ctx.target) : p.expect(c, { profile: ctx.profile, strict: ctx.strict });
  const actual = await observation(p, c, ctx.target, early);
  if (sameOutcome(expected, actual)) return { expected, actual };
  const diff = diffOutcomes(expected, actual);
  const dev = ctx.deviations?.length ? explain(ctx.deviations, toJson(c), diff) : undefined;
  if (!dev) return { expected, actual, diff };
  const example = { counterexample: toJson(c), expected: toJson(expected), actual: toJson(actual) };
  return { expected, actual, diff, known: { id: dev.id, kind: dev.kind, reference: dev.reference, cases: 1, example } };
}
