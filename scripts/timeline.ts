// `npm run timeline`: every kernel of fixtures/kernels.json × {cortex-a57 (nVHE), max (VHE)} under
// --profile auto, one QEMU at a time; prints the table and writes it into docs/timeline.md between the
// timeline markers (--no-readme: print only). A cell conforms, or fails only on known deviations (named by id), or it fails.
//   npm run timeline [-- --runs N] [--seed S] [--kernels a,b] [--cpus c,d] [--qemu NAME] [--no-readme]

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kernelPins } from '../adapters/kvm/pins.ts';
import { findKernel } from '../adapters/kvm/paths.ts';
import type { Summary } from '../core/result.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    seed: { type: 'string', default: '7' },
    kernels: { type: 'string' },
    cpus: { type: 'string', default: 'cortex-a57,max' },
    qemu: { type: 'string' },
    out: { type: 'string', default: 'reports/timeline' },
    'no-readme': { type: 'boolean', default: false },
    /** take a cell from an earlier complete run in --out instead of running it again */
    reuse: { type: 'boolean', default: false },
  },
});
const kernels = values.kernels?.split(',') ?? kernelPins().map((k) => k.name);
const cpus = values.cpus.split(',');
const ROOT = join(import.meta.dirname, '..');

interface Cell {
  readonly text: string;
  readonly ok: boolean;
}

function cell(s: Summary): Cell {
  const t = s.totals;
  const known = new Set<string>();
  for (const p of [...s.properties, ...(s.regressions ?? [])]) for (const k of p.known ?? []) known.add(k.id);
  const failing = s.properties.filter((p) => p.verdict === 'fail' || p.verdict === 'error').map((p) => `${p.family}/${p.name}`);
  const head = `${t.pass}/${t.fail}/${t.skip}/${t.error}`;
  const dev = known.size > 0 ? ` known: ${[...known].map((k) => `\`${k}\``).join(', ')}` : '';
  return { text: failing.length > 0 ? `**FAIL** ${head} (${failing.join(', ')})${dev}` : `ok ${head}${dev}`, ok: failing.length === 0 };
}

const rows: string[] = [];
let allOk = true;
const t0 = Date.now();
for (const k of kernels) {
  const info = findKernel(k);
  const cols: string[] = [];
  let release = '';
  for (const cpu of cpus) {
    if (typeof info === 'string') {
      cols.push(`not provisioned`);
      continue;
    }
    const dir = join(values.out, `${k}-${cpu}`);
    const args = [
      'bin/s2conform.mjs',
      'run',
      '--target',
      `qemu:${cpu}@${k}`,
      '--runs',
      values.runs,
      '--seed',
      values.seed,
      '--report',
      dir,
      '--quiet',
      ...(values.qemu ? ['--qemu', values.qemu] : []),
    ];
    const t = Date.now();
    const file = join(ROOT, dir, 'summary.json');
    const done = values.reuse && existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as Summary).complete;
    const r = done
      ? { status: 0, stderr: '' }
      : spawnSync('node', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (!existsSync(file)) {
      const why = (r.stderr.trim().split('\n').pop() ?? '')
        .replace(/^s2conform: (target \S+ cannot be used: )?/, '')
        .replace(/: it cannot boot.*$/, '');
      // a target that cannot run the kernel at all (exit 4: a CPU without the kernel's granule) is not a failure
      if (r.status === 4) {
        cols.push(`n/a: ${why}`);
        continue;
      }
      cols.push(`**ERROR** exit ${r.status}: ${why}`);
      allOk = false;
      continue;
    }
    const s = JSON.parse(readFileSync(file, 'utf8')) as Summary;
    const tgt = s.target as {
      kernelRelease?: string;
      kernelVersion?: string;
      mode?: string;
      ipaLimit?: number;
      host?: { granule?: number };
    };
    release = `${tgt.kernelVersion ?? tgt.kernelRelease ?? '?'}, ${tgt.host?.granule ?? '?'}K`;
    const c = cell(s);
    allOk &&= c.ok;
    // conformance properties run exactly --runs cases; design checks run at least DESIGN_MIN_RUNS
    const runs = Math.min(...s.properties.filter((p) => p.verdict === 'pass' && p.runs > 0).map((p) => p.runs));
    cols.push(`${c.text}; ${tgt.mode}, limit ${tgt.ipaLimit}, \`${s.profile}\`${String(runs) !== values.runs ? `, ${runs} runs` : ''}`);
    process.stdout.write(`${k} ${cpu}: ${c.text} (${s.profile}, ${Math.round((Date.now() - t) / 1000)} s)\n`);
  }
  rows.push(`| \`${k}\` | ${release} | ${cols.join(' | ')} |`);
}
const emu = values.qemu ?? 'default (fixtures/emulators.json)';
const table = [
  `Kernels of fixtures/kernels.json × CPUs, \`--profile auto\`, ${values.runs} runs per property, seed ${values.seed}, QEMU ${emu}; cells: pass/fail/skip/error, KVM mode, IPA limit, profile (${values.reuse ? `complete cells of earlier runs in ${values.out} reused` : `${Math.round((Date.now() - t0) / 60000)} min`}, one QEMU at a time)`,
  '',
  `| kernel | release, page | ${cpus.map((c) => `${c}`).join(' | ')} |`,
  `| --- | --- | ${cpus.map(() => '---').join(' | ')} |`,
  ...rows,
].join('\n');
process.stdout.write(`\n${table}\n`);
if (!values['no-readme']) {
  const readme = join(ROOT, 'docs', 'timeline.md');
  const text = readFileSync(readme, 'utf8');
  const re = /<!-- timeline:begin -->[\s\S]*<!-- timeline:end -->/;
  if (!re.test(text)) throw new Error('docs/timeline.md has no <!-- timeline:begin --> … <!-- timeline:end --> markers');
  writeFileSync(readme, text.replace(re, `<!-- timeline:begin -->\n${table}\n<!-- timeline:end -->`));
}
process.exit(allOk ? 0 : 1);
