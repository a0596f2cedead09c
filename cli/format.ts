// One property's verdict as a person reads it on a terminal.

import type { PropertyResult, Verdict } from '../core/result.ts';

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: 'skip', error: 'ERR ' } as const;

/** Colours a piece of text by what it says (the identity when colour is off). */
export type Paint = (kind: Verdict | 'dim' | 'bold', s: string) => string;

const plain: Paint = (_kind, s) => s;

export function formatResult(r: PropertyResult, paint: Paint = plain): string {
  const head = `${paint(r.verdict, MARK[r.verdict])} ${r.family}/${r.name} (${r.runs} runs, ${r.durationMs} ms)`;
  const lines = [head];
  if (r.finding === 'expected')
    lines.push(`       expected finding: ${r.reason ?? ''} — counterexample ${JSON.stringify(r.counterexample)}`);
  for (const k of r.known ?? []) lines.push(`       known ${k.kind} deviation ${k.id} (${k.cases} cases): ${k.reference}`);
  if (r.verdict === 'skip' || r.verdict === 'error') lines.push(`       ${r.reason ?? ''}`);
  if (r.verdict === 'fail') {
    if (r.reason) lines.push(`       ${r.reason}`);
    if (r.counterexample !== undefined) lines.push(`       counterexample: ${JSON.stringify(r.counterexample)}`);
    for (const d of r.diff ?? []) {
      lines.push(`       ${d.path}: expected ${JSON.stringify(d.expected)}, actual ${JSON.stringify(d.actual)}`);
      for (const [k, v] of Object.entries(d.decoded ?? {})) {
        lines.push(`         ${k}: expected ${JSON.stringify(v.expected)}, actual ${JSON.stringify(v.actual)}`);
      }
    }
    if (r.replay) lines.push(`       ${paint('bold', 'replay:')} ${r.replay}`);
  }
  return lines.join('\n');
}
