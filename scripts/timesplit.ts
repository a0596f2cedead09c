// Where a real target's time goes: runs one family's properties on a target, then prints
// per helper op how many requests, the wall time each spent at the head of the queue, and how much
// of it was spent inside the helper (the helper times every op: helperNs). Wall minus helper is the
// channel: the console line to the guest and back, and the adapter.
//   npx tsx scripts/timesplit.ts <qemu:…> [family] [runs]

import { KvmTarget, testHooks } from '../adapters/kvm/index.ts';
import { propertyId } from '../core/property.ts';
import { runProperty } from '../core/runner.ts';
import { profileForRelease } from '../oracles/profiles.ts';
import { propertiesOf } from '../properties/index.ts';
import type { Family } from '../core/property.ts';

const [spec = 'qemu:max@6.12', family = 'memslot', runs = '30'] = process.argv.slice(2);
const t = new KvmTarget(spec);
const info = await t.open();
const profile = profileForRelease(info.kernelRelease ?? '', info.kernelVersion);
if (!profile) throw new Error(`no profile for ${info.kernelRelease}`);
const t0 = performance.now();
let cases = 0;
for (const p of propertiesOf([family as Family])) {
  const r = await runProperty(p, { target: t, info, profile }, { runs: Number(runs), seed: 7, strict: false });
  cases += r.runs;
  process.stdout.write(`${propertyId(p)}: ${r.verdict} (${r.runs} runs)\n`);
}
const wall = performance.now() - t0;
process.stdout.write(
  `\n${spec} (${info.kernelVersion ?? info.kernelRelease}, ${info.emulator?.version ?? ''}): ${cases} cases in ${(wall / 1000).toFixed(1)} s, ${(cases / (wall / 1000)).toFixed(1)} cases/s\n`,
);
process.stdout.write('op               n   wall ms/op  helper ms/op  channel ms/op\n');
for (const [op, x] of [...testHooks(t).timings].sort((a, b) => Number(b[1].wallNs - a[1].wallNs))) {
  const w = Number(x.wallNs) / 1e6 / x.n;
  const h = Number(x.helperNs) / 1e6 / x.n;
  process.stdout.write(
    `${op.padEnd(14)} ${String(x.n).padStart(5)} ${w.toFixed(3).padStart(11)} ${h.toFixed(3).padStart(13)} ${(w - h).toFixed(3).padStart(14)}\n`,
  );
}
await t.close();
