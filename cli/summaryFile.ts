// Reading a summary.json back (report, kcidb, crosscheck, regress add): one reader, which checks every
// field those commands read before any of them reads it, so a file that is not what `s2conform run`
// wrote ends in one line naming the file and the field, never in a TypeError deep in a report writer.

import { readFileSync } from 'node:fs';
import { UsageError } from '../adapters/spec.ts';
import type { Summary } from '../core/result.ts';

/** A check of one value: undefined when it fits, else why not. */
type Check = (v: unknown, at: string) => string | undefined;

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str: Check = (v, at) => (typeof v === 'string' ? undefined : `field '${at}' must be a string`);
const num: Check = (v, at) => (typeof v === 'number' && Number.isFinite(v) ? undefined : `field '${at}' must be a number`);
const bool: Check = (v, at) => (typeof v === 'boolean' ? undefined : `field '${at}' must be true or false`);
const any: Check = () => undefined;
const oneOf =
  (...of: string[]): Check =>
  (v, at) =>
    typeof v === 'string' && of.includes(v) ? undefined : `field '${at}' must be one of ${of.map((x) => `"${x}"`).join(', ')}`;

/** An object: required fields, and optional ones checked when present. */
function obj(req: Record<string, Check>, opt: Record<string, Check> = {}): Check {
  return (v, at) => {
    if (!isObj(v)) return `field '${at}' must be an object`;
    for (const [k, c] of Object.entries(req)) {
      if (!(k in v)) return `field '${at ? `${at}.` : ''}${k}' is missing`;
      const p = c(v[k], at ? `${at}.${k}` : k);
      if (p) return p;
    }
    for (const [k, c] of Object.entries(opt)) {
      if (v[k] === undefined) continue;
      const p = c(v[k], at ? `${at}.${k}` : k);
      if (p) return p;
    }
    return undefined;
  };
}

const arr =
  (of: Check): Check =>
  (v, at) => {
    if (!Array.isArray(v)) return `field '${at}' must be an array`;
    for (let i = 0; i < v.length; i++) {
      const p = of(v[i], `${at}[${i}]`);
      if (p) return p;
    }
    return undefined;
  };

const VERDICT = oneOf('pass', 'fail', 'skip', 'error');
const DIFF = obj({ path: str, expected: any, actual: any }, { decoded: obj({}) });
const KNOWN = obj(
  { id: str, kind: oneOf('kernel', 'emulator'), reference: str, cases: num },
  { example: obj({ counterexample: any, expected: any, actual: any }) },
);

const PROPERTY = obj(
  { family: str, name: str, verdict: VERDICT, runs: num, seed: num, durationMs: num },
  {
    path: str,
    reason: str,
    replay: str,
    diff: arr(DIFF),
    finding: oneOf('expected', 'known-deviation'),
    known: arr(KNOWN),
    vms: obj({ fresh: num, reused: num }),
    sample: obj({ case: any, observed: any }),
    crosscheck: obj({ classification: str, pointsAt: str }),
  },
);

const REGRESSION = obj(
  {
    id: str,
    property: str,
    verdict: VERDICT,
    runs: num,
    counterexample: any,
    origin: obj({ target: str, profile: str, seed: num, path: str, date: str }),
    durationMs: num,
  },
  { reason: str, diff: arr(DIFF), known: arr(KNOWN), finding: oneOf('known-deviation') },
);

const SUMMARY = obj(
  {
    tool: oneOf('s2conform'),
    version: str,
    target: obj({ kind: str, spec: str }, { kernelRelease: str, kernelVersion: str, emulator: obj({}, { name: str }) }),
    profile: str,
    seed: num,
    properties: arr(PROPERTY),
    totals: obj({ pass: num, fail: num, skip: num, error: num }),
    durationMs: num,
    complete: bool,
  },
  { strict: bool, regressions: arr(REGRESSION), started: str, interrupted: oneOf('SIGINT', 'SIGTERM'), shard: str },
);

/** Why v is not a summary.json as `s2conform run` writes it (the first field at fault), or undefined. */
export function summaryProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'not a JSON object';
  if (v['tool'] !== 's2conform')
    return `not a summary.json written by s2conform run (field 'tool' is ${v['tool'] === undefined ? 'missing' : JSON.stringify(v['tool'])})`;
  return SUMMARY(v, '');
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
