// `npm run lava-smoke`: the LAVA test definition (integrations/lava/s2conform.yaml) run by Debian's LAVA
// dispatcher (`lava-run`, package lava-dispatcher), as TuxRun drives it: a QEMU arm64 device with EL2
// (QEMU 10 from the cache), booting a provisioned kernel and the test VM's node image (testvm/), with a
// shell on its console; the job deploys both to tmpfs, boots, and runs the definition, whose
// lava-test-case lines must come back in the dispatcher's results, one per property, matching the
// summary.json the device wrote (brought back from the log by integrations/lava/artefacts.mjs).
//   --kernel <name> (default 6.12)  --runs N (default 30)  --families F (default vm-create,memslot,abort)
//   --out DIR (default reports/lava-smoke)
// Skips (exit 0, saying why) where lava-run is not installed; needs root (the dispatcher's own dirs).

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../core/paths.ts';
import { findKernel } from '../adapters/kvm/paths.ts';
import { emulatorFor } from '../adapters/kvm/qemu.ts';
import { testVmInitramfs } from '../testvm/image.ts';
import { testVmProblem } from '../testvm/provision.ts';

const opt = (argv: string[], k: string, d: string): string => {
  const i = argv.indexOf(k);
  return i >= 0 ? (argv[i + 1] ?? d) : d;
};

/** A rendered device dictionary for LAVA's qemu device type: what lava-server's jinja2 templates would make. */
export function deviceYaml(qemu: string): string {
  return `# s2conform's QEMU arm64 device for lava-run: EL2 on (virtualization=on), so the kernel has KVM
constants:
  shutdown-message: "The system is going down for reboot NOW"
  kernel-start-message: "Linux version [0-9]"
  default-shell-prompt: "lava-test: # "
  posix:
    lava_test_sh_cmd: /bin/sh
    lava_test_results_dir: /lava-%s
    lava_test_shell_file: ~/.bashrc
  failure_retry: 1
  boot_retry: 1
  spawn_maxread: 4092
commands: {}
parameters: {}
available_architectures: [arm64]
actions:
  deploy:
    methods:
      tmpfs: null
      image:
        parameters:
          guest: {size: 512, interface: virtio, driveid: lavatest}
  boot:
    connections:
      serial: null
    methods:
      qemu:
        parameters:
          command: ${qemu}
          options:
            - -machine virt,virtualization=on,gic-version=3
            - -cpu max,pauth-impdef=on
            - -smp 1
            - -m 3072
            - -nographic
            - -no-reboot
            - -nic none
timeouts:
  actions: {}
  connections: {}
`;
}

/**
 * The job, as TuxRun writes one: download kernel and ramdisk (the dispatcher puts its test overlay into
 * the ramdisk itself: `overlays: lava`), boot QEMU to the console shell, run the definition inline.
 */
export function jobYaml(kernel: string, ramdisk: string, definition: string, params: Readonly<Record<string, string>>): string {
  const indented = definition
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : `          ${l}`))
    .join('\n');
  return `device_type: qemu
job_name: s2conform lava-smoke
timeouts:
  job: {minutes: 60}
  action: {minutes: 50}
  connection: {minutes: 5}
priority: medium
visibility: public
context:
  arch: arm64
actions:
- deploy:
    to: downloads
    timeout: {minutes: 10}
    images:
      kernel:
        image_arg: '-kernel {kernel} -append "console=ttyAMA0 panic=-1 s2ctv.console=shell"'
        url: file://${kernel}
      ramdisk:
        image_arg: '-initrd {ramdisk}'
        url: file://${ramdisk}
        compression: gz
        format: cpio.newc
        overlays:
          lava: true
- boot:
    method: qemu
    media: tmpfs
    timeout: {minutes: 10}
    prompts: ['s2c-testvm# ']
- test:
    timeout: {minutes: 45}
    definitions:
    - from: inline
      name: s2conform
      path: inline/s2conform.yaml
      parameters:
${Object.entries(params)
  .map(([k, v]) => `        ${k}: "${v}"`)
  .join('\n')}
      repository:
${indented}
`;
}

export interface LavaResult {
  readonly definition: string;
  readonly case: string;
  readonly result: string;
}

/**
 * The `results` records of a lava-run log: one record a line, in YAML's flow style (JSON but for tags
 * such as `! "511"`), so the three fields are read by name.
 */
export function lavaResults(log: string): LavaResult[] {
  const out: LavaResult[] = [];
  const field = (line: string, k: string): string | undefined => new RegExp(`"${k}": "([^"]*)"`).exec(line)?.[1];
  for (const line of log.split('\n')) {
    if (!line.includes('"lvl": "results"')) continue;
    const definition = field(line, 'definition');
    const c = field(line, 'case');
    const result = field(line, 'result');
    if (definition && c && result) out.push({ definition, case: c, result });
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const lavaRun = (await execa('sh', ['-c', 'command -v lava-run'], { reject: false })).stdout.trim();
  if (!lavaRun) {
    process.stdout.write(
      'lava-smoke: skipped: lava-run is not installed (apt-get install -t bookworm --no-install-recommends lava-dispatcher)\n',
    );
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stdout.write('lava-smoke: skipped: lava-run needs root (it writes /var/lib/lava/dispatcher)\n');
    return 0;
  }
  const kernelName = opt(argv, '--kernel', '6.12');
  const why = testVmProblem('node', kernelName);
  if (why) {
    process.stdout.write(`lava-smoke: skipped: ${why}\n`);
    return 0;
  }
  const k = findKernel(kernelName);
  if (typeof k === 'string') throw new Error(k);
  const out = opt(argv, '--out', join(REPO_ROOT, 'reports', 'lava-smoke'));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const emu = await emulatorFor(undefined);
  const ramdisk = testVmInitramfs('node', kernelName);
  const params = { RUNS: opt(argv, '--runs', '30'), SEED: '20261130', FAMILIES: opt(argv, '--families', 'vm-create,memslot,abort') };
  const definition = readFileSync(join(REPO_ROOT, 'integrations', 'lava', 's2conform.yaml'), 'utf8');
  writeFileSync(join(out, 'device.yaml'), deviceYaml(emu.binary));
  writeFileSync(join(out, 'job.yaml'), jobYaml(k.vmlinuz, ramdisk, definition, params));
  process.stdout.write(
    `lava-smoke: ${lavaRun} (${(await execa('dpkg-query', ['-W', '-f=${Version}', 'lava-dispatcher'], { reject: false })).stdout}), kernel ${kernelName}, ${JSON.stringify(params)}\n`,
  );
  const t0 = performance.now();
  // the log goes to a file as it comes, so a long job can be followed (tail -f)
  const logFile = join(out, 'lava-run.log');
  process.stdout.write(`lava-run: log in ${logFile}\n`);
  const r = await execa(
    'lava-run',
    ['--job-id', '1', '--output-dir', join(out, 'lava'), '--device', join(out, 'device.yaml'), join(out, 'job.yaml')],
    {
      reject: false,
      stdout: { file: logFile },
      stderr: { file: logFile },
      env: { QEMU_MODULE_DIR: '/nonexistent/s2conform-no-qemu-modules' },
    },
  );
  const log = readFileSync(logFile, 'utf8');
  const results = lavaResults(log);
  const cases = results.filter((x) => x.definition.endsWith('s2conform'));
  process.stdout.write(
    `lava-run: exit ${String(r.exitCode)} in ${((performance.now() - t0) / 1000).toFixed(0)} s; the dispatcher's results (definition case result):\n`,
  );
  for (const x of results) process.stdout.write(`  ${x.definition} ${x.case} ${x.result}\n`);
  // the reports the device printed, back as files; every property must be a LAVA test case with its verdict
  const art = await execa(
    'node',
    [join(REPO_ROOT, 'integrations', 'lava', 'artefacts.mjs'), join(out, 'lava-run.log'), join(out, 'reports')],
    { reject: false },
  );
  process.stdout.write(`${art.stdout}${art.stderr}\n`);
  const summary = join(out, 'reports', 'summary.json');
  if (!existsSync(summary)) return 1;
  const s = JSON.parse(readFileSync(summary, 'utf8')) as { properties: { family: string; name: string; verdict: string }[] };
  const want: Readonly<Record<string, string>> = { pass: 'pass', fail: 'fail', skip: 'skip', error: 'unknown' };
  const missing = s.properties.filter((p) => cases.find((c) => c.case === `${p.family}.${p.name}`)?.result !== want[p.verdict]);
  for (const p of missing)
    process.stdout.write(`  missing or different in the dispatcher's results: ${p.family}.${p.name} (${p.verdict})\n`);
  const jobOk = results.find((x) => x.definition === 'lava' && x.case === 'job')?.result === 'pass';
  process.stdout.write(
    `lava-smoke: ${s.properties.length} properties, ${s.properties.length - missing.length} reported by lava-test-case as the summary says; job ${jobOk ? 'pass' : 'not pass'}\n`,
  );
  return missing.length === 0 && jobOk && s.properties.length > 0 ? 0 : 1;
}

if (process.argv[1]?.endsWith('lava-smoke.ts'))
  main(process.argv.slice(2)).then(
    (c) => process.exit(c),
    (e: unknown) => {
      process.stderr.write(`lava-smoke: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(2);
    },
  );
