// `npm run testvm`: boots the test VM and prints how to reach it, until Ctrl-C.
//   --kernel <name>    a provisioned kernel (default 6.12)
//   --cpu <model>      QEMU CPU model (default max)
//   --mode vhe|nvhe|protected
//   --image ssh|node   node: Debian's nodejs and this project inside too (for --target native)
//   --lifetime <s>     power off after this long (default 0: until Ctrl-C)
//   --exec CMD         run `sh -c CMD` once the VM is up, with S2CONFORM_TESTVM_SPEC (the ssh: target)
//                      and S2CONFORM_TESTVM_SSH_CONFIG (its --ssh-config) set; stop the VM; exit with
//                      CMD's status
//   --lock             resolve fixtures/testvm.json again from the suite's index, then exit
// The packages and modules come from `npm run provision -- --testvm ssh|node`.

import { execa } from 'execa';
import { KVM_MODES } from '../arch/host.ts';
import { bootTestVm } from './boot.ts';
import { lock, writeLock } from './lock.ts';
import { TESTVM_IMAGES, testVmPins, type TestVmImage } from './pins.ts';

function usage(msg: string): never {
  process.stderr.write(`testvm: ${msg} (see the head of testvm/cli.ts)\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let kernel = '6.12';
  let cpu = 'max';
  let image: TestVmImage = 'ssh';
  let lifetimeS = 0;
  let mode: (typeof KVM_MODES)[number] | undefined;
  let exec: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--kernel') kernel = val();
    else if (a === '--cpu') cpu = val();
    else if (a === '--mode') {
      mode = KVM_MODES.find((m) => m === argv[i + 1]) ?? usage(`--mode takes ${KVM_MODES.join('|')}`);
      i++;
    } else if (a === '--image') {
      image = TESTVM_IMAGES.find((m) => m === argv[i + 1]) ?? usage(`--image takes ${TESTVM_IMAGES.join('|')}`);
      i++;
    } else if (a === '--lifetime') lifetimeS = Number(val());
    else if (a === '--exec') exec = val();
    else if (a === '--lock') {
      const pins = testVmPins();
      const fresh = lock(pins.suite, pins.roots);
      writeLock(fresh);
      process.stdout.write(`fixtures/testvm.json: ${fresh.packages.length} packages from ${fresh.suite}\n`);
      return;
    } else usage(`unknown argument '${String(a)}'`);
  }
  if (!Number.isInteger(lifetimeS) || lifetimeS < 0) usage('--lifetime takes whole seconds');
  const vm = await bootTestVm({ kernel, cpu, image, lifetimeS, ...(mode ? { mode } : {}) });
  if (exec !== undefined) {
    process.stdout.write(`test VM up: ${cpu}@${kernel} (${vm.release}) on 127.0.0.1:${vm.port}; running: ${exec}\n`);
    const r = await execa('sh', ['-c', exec], {
      stdio: 'inherit',
      reject: false,
      env: { S2CONFORM_TESTVM_SPEC: vm.spec, S2CONFORM_TESTVM_SSH_CONFIG: vm.sshConfig },
    });
    await vm.stop();
    process.exit(r.exitCode ?? 1);
  }
  const stop = (): void => void vm.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.write(
    [
      `test VM up: ${cpu}@${kernel} (${vm.release}), image ${image}`,
      `port: ${vm.port} (127.0.0.1 only)`,
      `login:  ssh -F ${vm.sshConfig} root@127.0.0.1`,
      `target: npx s2conform run --target ${vm.spec} --ssh-config ${vm.sshConfig}`,
      `console: ${vm.consoleLog}`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  await new Promise(() => undefined);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`testvm: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
