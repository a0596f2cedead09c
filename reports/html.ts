// index.html: the conformance matrix, one row per property, one column per run
// (target and profile). A cell that is not a plain pass opens, through
// <details>, what a reader needs: the counterexample's inputs, expected vs
// actual with the field-by-field diff (ESR/FSR values decoded in full), the
// profile and the replay command; abort cases also get their IPA space drawn.
// One static file: inline CSS and SVG, no script, nothing fetched.

import { decodeEsr, decodeFsr32, isAArch32Vector } from '../arch/esr.ts';
import type { Json } from '../core/json.ts';
import type { FieldDiff } from '../core/compare.ts';
import type { PropertyResult, Summary } from '../core/result.ts';
import { crosscheckLine, json, observedKernel, targetName } from './detail.ts';
import { escapeAttr, escapeMarkup as esc } from './escape.ts';
import { ipaSpaceOf, renderIpaSpaceSvg } from './svg.ts';

const CSS = `
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}
table.matrix{border-collapse:collapse;margin-top:1em}
.matrix th,.matrix td{border:1px solid #bbb;padding:.3em .5em;vertical-align:top;text-align:left}
.matrix thead th{background:#eee;position:sticky;top:0}
.matrix th.family{background:#f6f6f6;font-weight:bold}
.matrix th.prop{font-weight:normal;font-family:monospace;white-space:nowrap}
td.pass{background:#e8f5e9}td.fail{background:#ffebee}td.skip{background:#fffde7}td.error{background:#f3e5f5}td.none{color:#999}
td summary{cursor:pointer;font-weight:bold}
td.fail summary{color:#b71c1c}td.error summary{color:#6a1b9a}
.case{max-width:64em;font-size:.9em}
.case h4{margin:.8em 0 .2em}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.4em;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:.2em 0}
table.diff{border-collapse:collapse;font-family:monospace;font-size:.95em}
table.diff th,table.diff td{border:1px solid #ccc;padding:.15em .4em}
table.diff tr.differs td{background:#ffcdd2;font-weight:bold}
.sides{display:flex;gap:1em;flex-wrap:wrap}.sides>div{flex:1;min-width:20em}
.runs td,.runs th{padding:.1em .6em;text-align:left}
.note{color:#555;font-size:.9em}
`;

export interface MatrixColumn {
  readonly label: string;
  readonly summary: Summary;
}

function columnsOf(runs: readonly Summary[]): MatrixColumn[] {
  return runs.map((s) => {
    const kernel = observedKernel(s);
    const label = `${targetName(s)}${kernel ? ` · ${kernel}` : ''} · ${s.profile}${s.strict ? ' · strict' : ''}`;
    return { label, summary: s };
  });
}

/** Property ids (family/name), family by family, in the order the runs met them. */
function rowsOf(runs: readonly Summary[]): [string, string[]][] {
  const fam = new Map<string, string[]>();
  for (const s of runs) {
    for (const r of s.properties) {
      const names = fam.get(r.family) ?? [];
      if (!names.includes(r.name)) names.push(r.name);
      fam.set(r.family, names);
    }
  }
  return [...fam.entries()];
}

// --- one failing cell ---------------------------------------------------------

type Obj = { readonly [k: string]: Json };

function at(v: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = v;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(part)] : (cur as Obj)[part];
  }
  return cur;
}

function parentPath(path: string): string {
  const i = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return i < 0 ? '' : path.slice(0, i);
}

function hexOf(v: Json | undefined): bigint | undefined {
  return typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? BigInt(v) : undefined;
}

/** ESR values in a diff entry: the field itself, or an `esr` inside an outcome that differs as a whole. */
function esrPair(d: FieldDiff, r: PropertyResult): { e?: bigint; a?: bigint; a32: boolean } | undefined {
  const isEsr = /(^|\.)(esr|esrIss)$/.test(d.path);
  const e = isEsr ? d.expected : at(d.expected, 'esr');
  const a = isEsr ? d.actual : at(d.actual, 'esr');
  const he = hexOf(e);
  const ha = hexOf(a);
  if (he === undefined && ha === undefined) return undefined;
  const parent = isEsr ? parentPath(d.path) : d.path;
  const vec = [at(r.expected, parent), at(r.actual, parent), d.expected, d.actual]
    .map((o) => at(o, 'vector'))
    .find((v): v is number => typeof v === 'number');
  return { e: he, a: ha, a32: vec !== undefined && isAArch32Vector(vec) };
}

function decodedTable(p: { e?: bigint; a?: bigint; a32: boolean }): string {
  const dec = (v: bigint | undefined): Record<string, string | number> | undefined =>
    v === undefined ? undefined : p.a32 ? decodeFsr32(v) : { ...decodeEsr(v) };
  const de = dec(p.e);
  const da = dec(p.a);
  const keys = Object.keys(de ?? da ?? {});
  const rows = keys.map((k) => {
    const x = de?.[k];
    const y = da?.[k];
    const differs = de !== undefined && da !== undefined && x !== y;
    return `<tr${differs ? ' class="differs"' : ''}><th>${esc(k)}</th><td>${esc(x === undefined ? '—' : String(x))}</td><td>${esc(y === undefined ? '—' : String(y))}</td></tr>`;
  });
  const what = p.a32 ? 'DFSR/IFSR (AArch32)' : 'ESR_EL1';
  return `<table class="diff decoded" data-decoded="${p.a32 ? 'fsr32' : 'esr'}"><caption>${what}, decoded</caption><tr><th>field</th><th>expected</th><th>actual</th></tr>${rows.join('')}</table>`;
}

function diffTable(r: PropertyResult): string {
  const rows = (r.diff ?? []).map((d) => {
    const pair = esrPair(d, r);
    const decoded = pair ? `<tr><td colspan="3">${decodedTable(pair)}</td></tr>` : '';
    return `<tr class="differs" data-field="${escapeAttr(d.path)}"><td>${esc(d.path)}</td><td>${esc(json(d.expected))}</td><td>${esc(json(d.actual))}</td></tr>${decoded}`;
  });
  if (rows.length === 0) return '';
  return `<h4>Field by field</h4><table class="diff"><tr><th>field</th><th>expected</th><th>actual</th></tr>${rows.join('')}</table>`;
}

function pre(v: Json | undefined, cls: string): string {
  return `<pre class="${cls}">${esc(JSON.stringify(v ?? null, null, 2))}</pre>`;
}

function caseDetail(r: PropertyResult, s: Summary): string {
  const parts: string[] = [];
  if (r.reason) parts.push(`<p class="reason">${esc(r.reason)}</p>`);
  parts.push(
    `<p>profile <b class="profile">${esc(s.profile)}</b>${s.strict ? ' (strict)' : ''}, seed ${r.seed}${r.path !== undefined ? `, path ${esc(r.path)}` : ''}, ${r.runs} runs, ${r.durationMs} ms</p>`,
  );
  if (r.counterexample !== undefined) parts.push(`<h4>Inputs (shrunk counterexample)</h4>${pre(r.counterexample, 'inputs')}`);
  if (r.family === 'abort') {
    const space = ipaSpaceOf(r.counterexample, s.profile, s.target);
    if (space) {
      parts.push(
        `<h4>IPA space of this case</h4>${renderIpaSpaceSvg(space)}<p class="note">Regions as mainline KVM routes a stage-2 fault ` +
          `(85ea6b1ec915), with N the VM's IPA size, L the host's IPA limit under profile ${esc(s.profile)} and P the PARange; ` +
          `what this profile expects is in the diff below.</p>`,
      );
    }
  }
  parts.push(diffTable(r));
  if (r.expected !== undefined || r.actual !== undefined) {
    parts.push(`<div class="sides"><div><h4>Expected (profile)</h4>${pre(r.expected, 'expected')}</div><div><h4>Actual (target)</h4>${pre(r.actual, 'actual')}</div></div>`);
  }
  for (const k of r.known ?? []) parts.push(`<p class="note">known ${esc(k.kind)} deviation ${esc(k.id)} (${k.cases} cases): ${esc(k.reference)}</p>`);
  if (r.replay) parts.push(`<h4>Replay</h4><pre class="replay"><code>${esc(r.replay)}</code></pre>`);
  if (r.crosscheck) parts.push(`<h4>Crosscheck</h4><p class="crosscheck">${esc(crosscheckLine(r.crosscheck))}</p>`);
  return `<div class="case">${parts.join('')}</div>`;
}

const MARK = { pass: 'ok', fail: 'FAIL', skip: 'skip', error: 'ERR' } as const;

function cell(r: PropertyResult | undefined, col: MatrixColumn): string {
  const id = r ? `${r.family}/${r.name}` : '';
  if (!r) return `<td class="none" data-verdict="none" data-target="${escapeAttr(col.label)}">—</td>`;
  const a = `class="${r.verdict}" data-verdict="${r.verdict}" data-property="${escapeAttr(id)}" data-target="${escapeAttr(col.label)}"`;
  if (r.verdict === 'pass' && !r.finding) return `<td ${a}>ok</td>`;
  const label = r.verdict === 'pass' ? (r.finding === 'expected' ? 'ok (expected finding)' : 'ok (known deviation)') : MARK[r.verdict];
  const body = r.verdict === 'skip' || r.verdict === 'error' ? `<div class="case"><p class="reason">${esc(r.reason ?? '')}</p></div>` : caseDetail(r, col.summary);
  return `<td ${a}><details><summary>${esc(label)}</summary>${body}</details></td>`;
}

function runsTable(cols: readonly MatrixColumn[]): string {
  const rows = cols.map(({ label, summary: s }) => {
    const t = s.totals;
    return `<tr><th>${esc(label)}</th><td>s2conform ${esc(s.version)}</td><td>seed ${s.seed}</td><td>${t.pass} passed, ${t.fail} failed, ${t.skip} skipped, ${t.error} errors</td><td>${(s.durationMs / 1000).toFixed(1)} s</td><td>${s.complete ? 'complete' : '<b>not finished</b>'}</td></tr>`;
  });
  return `<table class="runs">${rows.join('')}</table>`;
}

export function renderHtml(runs: readonly Summary[], generated: string = new Date().toISOString()): string {
  const cols = columnsOf(runs);
  const head = `<tr><th>property</th>${cols.map((c) => `<th scope="col">${esc(c.label)}</th>`).join('')}</tr>`;
  const body: string[] = [];
  for (const [family, names] of rowsOf(runs)) {
    body.push(`<tr><th class="family" colspan="${cols.length + 1}">${esc(family)}</th></tr>`);
    for (const name of names) {
      const cells = cols.map((c) => cell(c.summary.properties.find((r) => r.family === family && r.name === name), c));
      body.push(`<tr data-row="${escapeAttr(`${family}/${name}`)}"><th class="prop" scope="row">${esc(`${family}/${name}`)}</th>${cells.join('')}</tr>`);
    }
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>s2conform conformance matrix</title>
<style>${CSS}</style>
</head>
<body>
<h1>s2conform: KVM/arm64 stage-2 and IPA conformance</h1>
<p class="note">Generated ${esc(generated)}. Rows are properties, columns are runs (target · profile). Open a cell that is not a plain <b>ok</b> for its counterexample, the field-by-field diff and the replay command.</p>
${runsTable(cols)}
<table class="matrix">
<thead>${head}</thead>
<tbody>
${body.join('\n')}
</tbody>
</table>
</body>
</html>
`;
}
