// node scripts/same-verdicts.mjs A/summary.json B/summary.json: exit 1 unless both runs gave every
// property the same verdict and run count (e.g. ssh: and qemu: on one kernel and CPU, in .ci/run).
import { readFileSync } from 'node:fs';

const [a, b] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
if (!a || !b) {
  process.stderr.write('usage: node scripts/same-verdicts.mjs A/summary.json B/summary.json\n');
  process.exit(2);
}
const key = (s) => new Map(s.properties.map((p) => [`${p.family}/${p.name}`, `${p.verdict} (${p.runs} runs)`]));
const ka = key(a);
const kb = key(b);
const diff = [...new Set([...ka.keys(), ...kb.keys()])].filter((k) => ka.get(k) !== kb.get(k));
for (const k of diff)
  process.stdout.write(`differs: ${k}: ${a.target.spec}: ${ka.get(k) ?? 'absent'}; ${b.target.spec}: ${kb.get(k) ?? 'absent'}\n`);
process.stdout.write(`${ka.size} properties; ${diff.length} differ (${a.target.spec} vs ${b.target.spec})\n`);
process.exit(diff.length === 0 && ka.size > 0 ? 0 : 1);
