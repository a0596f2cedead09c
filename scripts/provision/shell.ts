// Provisioning's output and commands: a step's heading, a line under it, a loud warning, and
// commands run without a shell (scripts/provision.ts and the files of each step).

import { execaSync } from 'execa';

export const step = (s: string): void => void process.stdout.write(`\n==> ${s}\n`);
export const info = (s: string): void => void process.stdout.write(`    ${s}\n`);
export class ProvisionError extends Error {}
export const die = (s: string): never => {
  throw new ProvisionError(s);
};
export const loud = (...lines: string[]): void => {
  const bar = '!'.repeat(72);
  process.stderr.write(`\n${bar}\n${lines.map((l) => `!!! ${l}`).join('\n')}\n${bar}\n\n`);
};

/** A command and its arguments (never a shell): status, stdout, stderr. */
export function spawnSync(
  file: string,
  args: string[],
  opts: { cwd?: string } = {},
): { status: number | undefined; stdout: string; stderr: string } {
  const r = execaSync(file, args, { ...(opts.cwd ? { cwd: opts.cwd } : {}), reject: false, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  return { status: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function run(file: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(file, args, opts);
  if (r.status !== 0)
    die(`${file} ${args.join(' ')} failed (exit ${r.status ?? 'signal'}):\n${(r.stderr || r.stdout || '').trim().slice(-2000)}`);
  return r.stdout;
}

export const isRoot = (): boolean => process.getuid?.() === 0;
export const needRoot = (what: string): void => {
  if (!isRoot()) die(`${what} needs root (apt-get/dpkg): run it as root: sudo npm run provision`);
};

export function installed(pkg: string): string | undefined {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg]);
  const [status, version] = r.stdout.split('\t');
  return r.status === 0 && status === 'install ok installed' ? version : undefined;
}
