// node integrations/lava/cases.mjs <summary.json>: one `lava-test-case <family>.<property> --result R`
// per property (pass, fail, skip; an error is `unknown`; a known deviation is a pass, as in KCIDB), and
// one for the regression corpus. Outside LAVA (no lava-test-case on PATH) it prints the commands.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file || !existsSync(file)) {
  console.log(`s2conform: no summary.json (${file ?? 'none given'}): nothing ran`);
  process.exit(0);
}
const s = JSON.parse(readFileSync(file, 'utf8'));
const RESULT = { pass: 'pass', fail: 'fail', skip: 'skip', error: 'unknown' };
const cases = s.properties.map((p) => [`${p.family}.${p.name}`, RESULT[p.verdict] ?? 'unknown']);
if (s.regressions) cases.push(['regressions.corpus', s.regressions.failed > 0 ? 'fail' : s.regressions.errors > 0 ? 'unknown' : 'pass']);
const inLava = spawnSync('sh', ['-c', 'command -v lava-test-case']).status === 0;
for (const [name, result] of cases) {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (inLava) spawnSync('lava-test-case', [safe, '--result', result], { stdio: 'inherit' });
  else console.log(`lava-test-case ${safe} --result ${result}`);
}
