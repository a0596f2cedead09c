// Reading a summary.json back (report, kcidb, crosscheck, regress add): one reader, which checks every
// field those commands read before any of them reads it, so a file that is not what `s2conform run`
// wrote ends in one line naming the file and the field, never in a TypeError deep in a report writer.

import { readFileSync } from 'node:fs';
import { UsageError } from '../adapters/spec.ts';
import type { Json } from '../core/json.ts';
import type { Summary } from '../core/result.ts';
import { ANY, arr, BOOL, CaseError, decode, NUM, oneOf, open, opt, STR } from '../core/schema.ts';

// Every object is open (a summary holds more than its readers check); the schema language is the
// cases' own (core/schema.ts), with optional fields.
const VERDICT = oneOf('pass', 'fail', 'skip', 'error');
const DIFF = open({ path: STR, expected: ANY, actual: ANY, decoded: opt(open({})) });
const KNOWN = open({
  id: STR,
  kind: oneOf('kernel', 'emulator'),
  reference: STR,
  cases: NUM,
  example: opt(open({ counterexample: ANY, expected: ANY, actual: ANY })),
});
const MANY = Number.MAX_SAFE_INTEGER;

const PROPERTY = open({
  family: STR,
  name: STR,
  verdict: VERDICT,
  runs: NUM,
  seed: NUM,
  durationMs: NUM,
  path: opt(STR),
  reason: opt(STR),
  replay: opt(STR),
  diff: opt(arr(DIFF, MANY)),
  finding: opt(oneOf('expected', 'known-deviation')),
  known: opt(arr(KNOWN, MANY)),
  vms: opt(open({ fresh: NUM, reused: NUM })),
  sample: opt(open({ case: ANY, observed: ANY })),
  crosscheck: opt(open({ classification: STR, pointsAt: STR })),
});

const REGRESSION = open({
  id: STR,
  property: STR,
  verdict: VERDICT,
  runs: NUM,
  counterexample: ANY,
  origin: open({ target: STR, profile: STR, seed: NUM, path: STR, date: STR }),
  durationMs: NUM,
  reason: opt(STR),
  diff: opt(arr(DIFF, MANY)),
  known: opt(arr(KNOWN, MANY)),
  finding: opt(oneOf('known-deviation')),
});

const SUMMARY = open({
  tool: oneOf('s2conform'),
  version: STR,
  target: open({
    kind: STR,
    spec: STR,
    kernelRelease: opt(STR),
    kernelVersion: opt(STR),
    emulator: opt(open({ name: opt(STR) })),
  }),
  profile: STR,
  seed: NUM,
  properties: arr(PROPERTY, MANY),
  totals: open({ pass: NUM, fail: NUM, skip: NUM, error: NUM }),
  durationMs: NUM,
  complete: BOOL,
  strict: opt(BOOL),
  regressions: opt(arr(REGRESSION, MANY)),
  started: opt(STR),
  interrupted: opt(oneOf('SIGINT', 'SIGTERM')),
  shard: opt(STR),
});

/** Why v is not a summary.json as `s2conform run` writes it (the first field at fault), or undefined. */
export function summaryProblem(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const tool = (v as Record<string, unknown>)['tool'];
  if (tool !== 's2conform')
    return `not a summary.json written by s2conform run (field 'tool' is ${tool === undefined ? 'missing' : JSON.stringify(tool)})`;
  try {
    decode(SUMMARY, v as Json, '');
    return undefined;
  } catch (e) {
    if (e instanceof CaseError) return e.message;
    throw e;
  }
}

export function readSummary(file: string): Summary {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON`);
  }
  const problem = summaryProblem(v);
  if (problem) throw new UsageError(`${file}: ${problem}`);
  return v as Summary;
}
