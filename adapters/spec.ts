// The one grammar of --target. Kept free of the adapters themselves, so the CLI can check a spec
// (exit 2 on a bad one) without loading the real-KVM adapter.
//
//   sim | sim:<mutant>
//   qemu:<cpu>[,vhe|,nvhe|,protected][,mte][,qemu=<emulator>]@<kernel>
//       <kernel>: a name from fixtures/kernels.json, or a path to an arm64 Image/vmlinuz (/…, ./…, ~/…)
//       <emulator>: a name from fixtures/emulators.json (default: its "default")
//   native
//   ssh:[<user>@]<host or ~/.ssh/config alias>[:port]

import { KVM_MODES, type KvmMode } from '../arch/host.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** one line, whatever the user typed: control characters in echoed input are escaped (\n, \t, \u001b) */
  constructor(message: string) {
    super(message.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1)));
  }
}

export type TargetSpec =
  | { readonly kind: 'sim'; readonly mutant: string | undefined }
  | {
      readonly kind: 'qemu';
      readonly cpu: string;
      readonly mode: KvmMode | undefined;
      readonly mte: boolean;
      /** a kernels.json name or a path */
      readonly kernel: string;
      /** an emulators.json name, when the spec names one */
      readonly qemu: string | undefined;
    }
  | { readonly kind: 'native' }
  | { readonly kind: 'ssh'; readonly dest: string; readonly port: number | undefined };

export const TARGET_GRAMMAR =
  'sim, sim:<mutant>, qemu:<cpu>[,vhe|,nvhe|,protected][,mte][,qemu=<emulator>]@<kernel name|path to an Image>, native or ssh:[<user>@]<host or alias>[:port]';

export function isPathRef(ref: string): boolean {
  return ref.startsWith('/') || ref.startsWith('./') || ref.startsWith('../') || ref.startsWith('~/');
}

export interface SpecNames {
  readonly kernels: readonly string[];
  readonly emulators: readonly string[];
  readonly mutants: readonly string[];
}

export function parseTargetSpec(spec: string, names: SpecNames): TargetSpec {
  if (spec === 'sim') return { kind: 'sim', mutant: undefined };
  if (spec.startsWith('sim:')) {
    const m = spec.slice(4);
    if (!names.mutants.includes(m)) throw new UsageError(`unknown simulator mutant '${m}' (known: ${names.mutants.join(', ')})`);
    return { kind: 'sim', mutant: m };
  }
  if (spec === 'native') return { kind: 'native' };
  if (spec.startsWith('ssh:')) {
    // nothing that ssh would read as an option or a shell would split: a user, a host name or alias, a port
    const m = /^ssh:((?:[A-Za-z0-9._][A-Za-z0-9._-]*@)?[A-Za-z0-9][A-Za-z0-9._-]*)(?::([0-9]{1,5}))?$/.exec(spec);
    const port = m?.[2] === undefined ? undefined : Number(m[2]);
    if (!m?.[1] || (port !== undefined && (port < 1 || port > 65535)))
      throw new UsageError(`bad ssh target '${spec}': expected ssh:[<user>@]<host or alias>[:port]`);
    return { kind: 'ssh', dest: m[1], port };
  }
  const m = /^qemu:([a-z0-9][a-z0-9-]*)((?:,[a-z0-9=.-]+)*)@(.+)$/.exec(spec);
  if (!m?.[1] || m[3] === undefined) throw new UsageError(`unknown target '${spec}' (expected ${TARGET_GRAMMAR})`);
  const kernel = m[3];
  if (!isPathRef(kernel) && !names.kernels.includes(kernel))
    throw new UsageError(`unknown kernel '${kernel}' in '${spec}' (known: ${names.kernels.join(', ')}; or a path to an Image)`);
  let mode: KvmMode | undefined;
  let mte = false;
  let qemu: string | undefined;
  for (const opt of (m[2] ?? '').split(',').filter((s) => s !== '')) {
    const asMode = KVM_MODES.find((k) => k === opt);
    if (asMode) {
      if (mode) throw new UsageError(`two KVM modes in '${spec}'`);
      mode = asMode;
    } else if (opt === 'mte') mte = true;
    else if (opt.startsWith('qemu=')) {
      qemu = opt.slice(5);
      if (!names.emulators.includes(qemu))
        throw new UsageError(`unknown emulator '${qemu}' in '${spec}' (known: ${names.emulators.join(', ')})`);
    } else throw new UsageError(`unknown option '${opt}' in '${spec}'`);
  }
  if (mte && m[1] !== 'max') throw new UsageError(`'${spec}': mte needs the max CPU`);
  return { kind: 'qemu', cpu: m[1], mode, mte, kernel, qemu };
}
