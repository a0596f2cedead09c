// node integrations/lava/artefacts.mjs <LAVA job log (output.yaml or text)> <dir>: writes the reports that
// integrations/lava/run.sh printed between its marker lines back into <dir> (summary.json, KTAP, …).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

const [log, dir] = process.argv.slice(2);
if (!log || !dir) {
  console.error('usage: node integrations/lava/artefacts.mjs <job log> <dir>');
  process.exit(2);
}
// a LAVA log is YAML, one record a line: {"dt": …, "lvl": "target", "msg": "<line>"}; a plain log is lines
const lines = readFileSync(log, 'utf8')
  .split('\n')
  .map((l) => /"?msg"?: ['"]?(.*?)['"]?\}?$/.exec(l)?.[1] ?? l)
  .map((l) => l.trim());
const a = lines.indexOf('s2conform-artefacts-begin');
const b = lines.indexOf('s2conform-artefacts-end', a + 1);
if (a < 0 || b < 0) {
  console.error(`${log}: no s2conform artefacts between the markers`);
  process.exit(1);
}
mkdirSync(dir, { recursive: true });
execFileSync('tar', ['xzf', '-', '-C', dir], { input: Buffer.from(lines.slice(a + 1, b).join(''), 'base64') });
console.log(`${dir}: ${execFileSync('ls', [dir]).toString().trim().split('\n').join(' ')}`);
