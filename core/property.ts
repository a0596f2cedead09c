// A property, written once, run by both `npm test` and `s2conform run`
// against whichever target is selected.

import type fc from 'fast-check';
import type { Capability, Target, TargetInfo, HostConfig } from './target.ts';
import type { Profile } from './profile.ts';
import type { CaseKind, CaseOf, Family } from './families.ts';

// the families are registered in core/families.ts
export { FAMILIES, type Family } from './families.ts';

/** What generators may depend on: the target's fixed host, if it has one. */
export interface GenContext {
  readonly info: TargetInfo;
}

/** What the oracle is asked with, besides the case. */
export interface OracleContext<P> {
  readonly profile: P;
  readonly strict: boolean;
}

/** Oracle expectation vs target observation, compared exactly. */
export interface ConformanceProperty<C, O, P> {
  readonly kind: 'conformance';
  readonly family: Family;
  readonly name: string;
  readonly description: string;
  readonly needs?: readonly Capability[];
  /** the case type, so a counterexample read back from JSON can be decoded (core/codec.ts); one of its family's (core/families.ts) */
  readonly caseKind: CaseKind;
  arbitrary(g: GenContext): fc.Arbitrary<C>;
  expect(c: C, o: OracleContext<P>): O;
  observe(c: C, t: Target): Promise<O>;
  /**
   * Present when the target itself gives the expectation: the property states that two ways of
   * observing a case on one target agree (abort/reuse-equivalence: a VM reused against a fresh
   * one), and the runner compares observe() with this instead of with expect(). expect() still says
   * what the oracle predicts for both.
   */
  expectOn?(c: C, t: Target): Promise<O>;
  /** the host a case runs on (so a fixed-host target can check it) */
  hostOf(c: C): HostConfig;
}

/**
 * A requirement checked against a design (seed 002): no target involved.
 * `violated: true` states that the design is expected to break the
 * requirement; the counterexample is then an expected finding.
 */
export interface DesignProperty<C> {
  readonly kind: 'design';
  readonly family: Family;
  readonly name: string;
  readonly description: string;
  readonly violated: boolean;
  arbitrary(): fc.Arbitrary<C>;
  /** null when the requirement holds for the case, else why not */
  check(c: C): string | null;
}

/**
 * A conformance property of a case kind: its cases are that kind's type (core/families.ts), so the
 * kind its counterexamples are decoded as and the cases its arbitrary makes cannot disagree.
 */
export function conformance<K extends CaseKind, O>(
  caseKind: K,
  p: Omit<ConformanceProperty<CaseOf<K>, O, Profile>, 'kind' | 'caseKind'>,
): ConformanceProperty<CaseOf<K>, O, Profile> {
  return { kind: 'conformance', caseKind, ...p };
}

// properties of different case types live in one list (methods are bivariant)
export type AnyConformance = ConformanceProperty<unknown, unknown, Profile>;
export type AnyDesign = DesignProperty<unknown>;
export type AnyProperty = AnyConformance | AnyDesign;

export function propertyId(p: { family: Family; name: string }): string {
  return `${p.family}/${p.name}`;
}
