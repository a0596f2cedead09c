// Boots a standalone static aarch64 program as /init of a kernel in QEMU (TCG, EL2 on) and prints
// what it printed: how the reproducers in adapters/kvm/helper/repro/ are run without an arm64 host.
//   npx tsx scripts/repro.ts <static aarch64 binary> <qemu:cpu[,opts]@kernel>
// Builds: aarch64-linux-gnu-gcc -static -O2 -o /tmp/s1ptw-834220 adapters/kvm/helper/repro/s1ptw-834220.c

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKvmSpec } from '../adapters/kvm/index.ts';
import { writeHelperInitramfs } from '../adapters/kvm/initramfs.ts';
import { findKernel } from '../adapters/kvm/paths.ts';
import { emulatorFor, qemuCommand } from '../adapters/kvm/qemu.ts';

const [binary, spec] = process.argv.slice(2);
if (!binary || !spec) {
  process.stderr.write('usage: npx tsx scripts/repro.ts <static aarch64 binary> <qemu:cpu[,opts]@kernel>\n');
  process.exit(2);
}
const s = parseKvmSpec(spec);
if (s.kind !== 'qemu') throw new Error('a qemu: target');
const kernel = findKernel(s.kernel);
if (typeof kernel === 'string') throw new Error(kernel);
const dir = mkdtempSync(join(tmpdir(), 's2c-repro-'));
const emulator = await emulatorFor(s.qemu);
const log = join(dir, 'console.log');
const c = qemuCommand({
  cpu: s.cpu,
  mode: s.mode,
  mte: s.mte,
  kernel,
  emulator,
  initrd: writeHelperInitramfs(binary, dir),
  consoleLog: log,
});
const args = c.channel === 'virtio' ? c.args : c.args.map((a) => (a === 'stdio,id=con,signal=off' ? `file,id=con,path=${log}` : a));
const r = spawnSync(c.file, args, { encoding: 'utf8', timeout: 180_000, env: { ...process.env, QEMU_MODULE_DIR: '/nonexistent' } });
const out = readFileSync(log, 'utf8').split('\n');
const mine = out.filter((l) => !/^\[\s*\d+\.\d+\]/.test(l) && l.trim() !== '');
process.stdout.write(`${spec} (${emulator.version}), QEMU exit ${r.status ?? r.signal}\n`);
for (const l of out) if (/erratum|KVM|kvm \[/i.test(l) && /834220|mode init/.test(l)) process.stdout.write(`  kernel: ${l.trim()}\n`);
for (const l of mine) process.stdout.write(`  ${l}\n`);
