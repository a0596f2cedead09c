// What the text reports (KTAP diagnostics, JUnit failure bodies) say about one
// property, and the grouping they share: target -> family -> property.

import type { Json } from '../core/json.ts';
import type { PropertyResult, Summary } from '../core/result.ts';

export function json(v: Json | undefined): string {
  return JSON.stringify(v ?? null);
}

/** Families in the order the run met them, each with its properties in run order. */
export function byFamily(rs: readonly PropertyResult[]): [string, PropertyResult[]][] {
  const m = new Map<string, PropertyResult[]>();
  for (const r of rs) {
    const list = m.get(r.family) ?? [];
    list.push(r);
    m.set(r.family, list);
  }
  return [...m.entries()];
}

/** The target's name as the reports show it (its --target spec). */
export function targetName(s: Summary): string {
  const t = s.target;
  if (t !== null && typeof t === 'object' && !Array.isArray(t) && typeof t['spec'] === 'string') return t['spec'];
  return 'unknown';
}

/** What ran: the observed kernel release and the emulator, beside the spec ("" on the simulator). */
export function observedKernel(s: Summary): string {
  const t = s.target;
  if (t === null || typeof t !== 'object' || Array.isArray(t)) return '';
  const rel = typeof t['kernelRelease'] === 'string' ? t['kernelRelease'] : undefined;
  const ver = typeof t['kernelVersion'] === 'string' ? t['kernelVersion'] : undefined;
  const e = t['emulator'];
  const emu = e !== null && typeof e === 'object' && !Array.isArray(e) && typeof e['version'] === 'string' ? /version (\S+)/.exec(e['version'])?.[1] : undefined;
  const h = t['host'];
  const page = h !== null && typeof h === 'object' && !Array.isArray(h) && typeof h['granule'] === 'number' ? `${h['granule']}K pages` : undefined;
  return [rel ? `Linux ${ver && !rel.startsWith(ver) ? `${ver} (${rel})` : rel}` : undefined, page, emu ? `QEMU ${emu}` : undefined].filter((x) => x !== undefined).join(', ');
}

/** The diff, one line per differing field, ESR fields decoded and indented under it. */
export function diffLines(r: PropertyResult): string[] {
  const out: string[] = [];
  for (const d of r.diff ?? []) {
    out.push(`${d.path}: expected ${json(d.expected)}, actual ${json(d.actual)}`);
    for (const [k, v] of Object.entries(d.decoded ?? {})) out.push(`  ${k}: expected ${json(v.expected)}, actual ${json(v.actual)}`);
  }
  return out;
}

/** One line: whose fault the failure is, and what the crosscheck saw. */
export function crosscheckLine(c: NonNullable<PropertyResult['crosscheck']>): string {
  const seen = [
    c.otherEmulator ? `QEMU ${c.otherEmulator.name}: ${c.otherEmulator.same ? 'same observation' : `observed ${json(c.otherEmulator.actual)}`}` : undefined,
    c.simulator ? `simulated kernel: ${c.simulator.agreesWithKernel ? 'does what the kernel did' : 'does not'}` : undefined,
    c.note,
  ].filter((x) => x !== undefined);
  return `crosscheck: ${c.classification} (points at ${c.pointsAt})${seen.length > 0 ? `; ${seen.join('; ')}` : ''}`;
}

/** Everything a reader needs to reproduce a result, as plain lines (no markup). */
export function detailLines(r: PropertyResult, profile: string): string[] {
  const out: string[] = [];
  if (r.reason && (r.verdict === 'fail' || r.finding === 'expected')) out.push(`${r.finding === 'expected' ? 'expected finding: ' : ''}${r.reason}`);
  if (r.verdict === 'fail' || r.finding === 'expected') {
    out.push(`profile: ${profile}`, `seed: ${r.seed}`);
    if (r.path !== undefined) out.push(`path: ${r.path}`);
    if (r.counterexample !== undefined) out.push(`counterexample: ${json(r.counterexample)}`);
  }
  if (r.verdict === 'fail') {
    const diff = diffLines(r);
    if (diff.length > 0) out.push('diff:', ...diff.map((l) => `  ${l}`));
    if (r.replay) out.push(`replay: ${r.replay}`);
    if (r.crosscheck) out.push(crosscheckLine(r.crosscheck));
  }
  for (const k of r.known ?? []) {
    out.push(`known ${k.kind} deviation ${k.id} (${k.cases} cases): ${k.reference}`);
    if (k.crosscheck) out.push(`  ${crosscheckLine(k.crosscheck)}`);
  }
  return out;
}
