// `npm run testvm:native`: the `native` target for real, once, end to end. Boots the node image of the
// test VM (Debian's nodejs, this project staged for linux/arm64), runs
//   npx s2conform run --target native --family vm-create,memslot,abort --runs 100 --seed 20261130
// inside it, brings its summary.json back, runs the same on qemu:max@<kernel> here, and compares
// every verdict (exit 1 if any differs). One QEMU at a time: the qemu: run comes after the VM stops.
//   --kernel <name> (default 6.12)   --runs N (default 100)   --out DIR (default reports/native-<kernel>)

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../core/paths.ts';
import { bootTestVm } from './boot.ts';

async function main(argv: string[]): Promise<number> {
  const opt = (k: string, d: string): string => {
    const i = argv.indexOf(k);
    return i >= 0 ? (argv[i + 1] ?? d) : d;
  };
  const kernel = opt('--kernel', '6.12');
  const runs = opt('--runs', '100');
  const out = opt('--out', join(REPO_ROOT, 'reports', `native-${kernel}`));
  const args = ['--family', 'vm-create,memslot,abort', '--runs', runs, '--seed', '20261130'];
  mkdirSync(join(out, 'native'), { recursive: true });
  const vm = await bootTestVm({ kernel, cpu: 'max', image: 'node', lifetimeS: 3600 });
  const command = `cd /s2conform && npx s2conform run --target native ${args.join(' ')} --report /tmp/native`;
  let ms: number;
  try {
    process.stdout.write(`test VM (node image) up on 127.0.0.1:${vm.port}: ${command}\n`);
    const t0 = performance.now();
    const r = await vm.ssh(command);
    ms = performance.now() - t0;
    process.stdout.write(r.stdout + r.stderr);
    if (r.exitCode !== 0) process.stdout.write(`native run: exit ${String(r.exitCode)}\n`);
    const s = await vm.ssh('cat /tmp/native/summary.json');
    writeFileSync(join(out, 'native', 'summary.json'), s.stdout);
  } finally {
    await vm.stop();
  }
  const q = await execa(
    'node',
    [join(REPO_ROOT, 'bin', 's2conform.mjs'), 'run', '--target', `qemu:max@${kernel}`, ...args, '--report', join(out, 'qemu'), '--quiet'],
    { reject: false },
  );
  process.stdout.write(q.stdout);
  const cmp = await execa(
    'node',
    [join(REPO_ROOT, 'scripts', 'same-verdicts.mjs'), join(out, 'native', 'summary.json'), join(out, 'qemu', 'summary.json')],
    { reject: false },
  );
  process.stdout.write(`${cmp.stdout}\nnative run inside the guest: ${(ms / 1000).toFixed(1)} s (TCG, node under emulation)\n`);
  return cmp.exitCode ?? 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`testvm:native: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
