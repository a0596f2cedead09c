// ktap.txt: the run as KTAP version 1 (the kernel's Documentation/dev-tools/ktap.rst),
// nested target -> family -> property, two spaces of indentation per level.
//
//   KTAP version 1
//   1..1
//     KTAP version 1
//     # Subtest: sim
//     1..4
//       KTAP version 1
//       # Subtest: vm-create
//       1..2
//       # seed: 5 ... (diagnostics of a failure, before its result line)
//       not ok 1 type-word
//       ok 2 ipa-limit # SKIP needs a 52-bit host
//     not ok 1 vm-create
//   not ok 1 sim
//
// Test names are stable (family and property names, the --target spec) and never
// carry '#'; seed, path, counterexample, diff and replay are diagnostic lines only.
// '# Subtest: <name>' is a diagnostic line to KTAP and names the group for kunit.py.
// An error is 'not ok ... # ERROR <reason>', a skip 'ok ... # SKIP <reason>'.

import type { PropertyResult, Summary, Verdict } from '../core/result.ts';
import { byFamily, detailLines, observedKernel, targetName } from './detail.ts';
import { ktapName, oneLine } from './escape.ts';

const INDENT = '  ';

type Group = 'fail' | 'skip' | 'pass';

/** A group fails if any member failed or errored; it is skipped only if every member was. */
function groupVerdict(vs: readonly Verdict[]): Group {
  if (vs.some((v) => v === 'fail' || v === 'error')) return 'fail';
  if (vs.length > 0 && vs.every((v) => v === 'skip')) return 'skip';
  return 'pass';
}

function resultLine(n: number, name: string, g: Group, why: string): string {
  if (g === 'fail') return `not ok ${n} ${ktapName(name)}`;
  if (g === 'skip') return `ok ${n} ${ktapName(name)} # SKIP ${oneLine(why)}`;
  return `ok ${n} ${ktapName(name)}`;
}

function propertyLines(r: PropertyResult, n: number, profile: string): string[] {
  const diag = detailLines(r, profile).map((l) => `# ${l.replace(/[\r\n]+/g, ' ')}`);
  const name = ktapName(r.name);
  switch (r.verdict) {
    case 'pass':
      return [...diag, `ok ${n} ${name}`];
    case 'fail':
      return [...diag, `not ok ${n} ${name}`];
    case 'skip':
      return [...diag, `ok ${n} ${name} # SKIP ${oneLine(r.reason ?? 'not supported by the target')}`];
    case 'error':
      return [...diag, `not ok ${n} ${name} # ERROR ${oneLine(r.reason ?? 'the target failed')}`];
  }
}

function indent(lines: readonly string[]): string[] {
  return lines.map((l) => INDENT + l);
}

function familyLines(family: string, rs: readonly PropertyResult[], n: number, profile: string): string[] {
  const body = ['KTAP version 1', `# Subtest: ${ktapName(family)}`, `1..${rs.length}`];
  rs.forEach((r, i) => body.push(...propertyLines(r, i + 1, profile)));
  return [...indent(body), resultLine(n, family, groupVerdict(rs.map((r) => r.verdict)), 'every property skipped')];
}

export function renderKtap(s: Summary): string {
  const target = targetName(s);
  const families = byFamily(s.properties);
  const body = ['KTAP version 1', `# Subtest: ${ktapName(target)}`, `1..${families.length}`];
  families.forEach(([f, rs], i) => body.push(...familyLines(f, rs, i + 1, s.profile)));
  const t = s.totals;
  const kernel = observedKernel(s);
  const head = `# s2conform ${s.version}: target ${oneLine(target)}${kernel ? ` (${oneLine(kernel)})` : ''}, profile ${s.profile}, seed ${s.seed}${s.strict ? ', strict' : ''}`;
  if (families.length === 0) return `KTAP version 1\n1..0\n${head}\n# no property has finished yet\n`;
  const lines = [
    'KTAP version 1',
    '1..1',
    head,
    ...indent(body),
    `# totals: pass ${t.pass}, fail ${t.fail}, skip ${t.skip}, error ${t.error}${s.complete ? '' : ' (run not finished: properties so far)'}`,
    resultLine(1, target, groupVerdict(s.properties.map((r) => r.verdict)), 'every property skipped'),
  ];
  return `${lines.join('\n')}\n`;
}
