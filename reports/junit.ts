// junit.xml for generic CI: <testsuites> for the run, one <testsuite> per family,
// one <testcase> per property. A deviation is a <failure> (message: the first
// differing field; body: counterexample, diff and replay command), a skip a
// <skipped message>, a target that broke an <error>.

import type { PropertyResult, Summary } from '../core/result.ts';
import { byFamily, detailLines, json, targetName } from './detail.ts';
import { escapeAttr, escapeMarkup } from './escape.ts';

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function attrs(a: Record<string, string | number>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`)
    .join('');
}

function failureMessage(r: PropertyResult): string {
  const d = r.diff?.[0];
  if (d) {
    const more = (r.diff?.length ?? 0) > 1 ? ` (and ${(r.diff?.length ?? 1) - 1} more fields)` : '';
    return `${d.path}: expected ${json(d.expected)}, actual ${json(d.actual)}${more}`;
  }
  return r.reason ?? 'deviation from the profile';
}

function testcase(r: PropertyResult, classname: string, profile: string): string {
  const head = `    <testcase${attrs({ classname, name: r.name, time: seconds(r.durationMs), assertions: r.runs })}`;
  const body = detailLines(r, profile).join('\n');
  switch (r.verdict) {
    case 'pass':
      return body === '' ? `${head}/>` : `${head}>\n      <system-out>${escapeMarkup(body)}</system-out>\n    </testcase>`;
    case 'fail':
      return `${head}>\n      <failure${attrs({ message: failureMessage(r), type: 'deviation' })}>${escapeMarkup(body)}</failure>\n    </testcase>`;
    case 'skip':
      return `${head}>\n      <skipped${attrs({ message: r.reason ?? 'not supported by the target' })}/>\n    </testcase>`;
    case 'error':
      return `${head}>\n      <error${attrs({ message: r.reason ?? 'the target failed', type: 'target-error' })}>${escapeMarkup(body)}</error>\n    </testcase>`;
  }
}

function count(rs: readonly PropertyResult[]) {
  const n = (v: PropertyResult['verdict']) => rs.filter((r) => r.verdict === v).length;
  const ms = rs.reduce((a, r) => a + r.durationMs, 0);
  return { tests: rs.length, failures: n('fail'), errors: n('error'), skipped: n('skip'), time: seconds(ms) };
}

export function renderJunit(s: Summary, timestamp: string = new Date().toISOString()): string {
  const target = targetName(s);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  lines.push(`<testsuites${attrs({ name: `s2conform ${target} ${s.profile}`, ...count(s.properties), time: seconds(s.durationMs) })}>`);
  for (const [family, rs] of byFamily(s.properties)) {
    lines.push(`  <testsuite${attrs({ name: `${target}/${family}`, ...count(rs), timestamp })}>`);
    lines.push('    <properties>');
    const props: [string, string][] = [
      ['target', target],
      ['profile', s.profile],
      ['seed', String(s.seed)],
      ['strict', String(s.strict)],
      ['complete', String(s.complete)],
      ['version', s.version],
    ];
    for (const [name, value] of props) lines.push(`      <property${attrs({ name, value })}/>`);
    lines.push('    </properties>');
    for (const r of rs) lines.push(testcase(r, `s2conform.${target}.${family}`, s.profile));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
