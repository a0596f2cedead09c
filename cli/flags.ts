// Every flag of the s2conform subcommands, once: its name, type, default, the subcommands it belongs
// to, its help text, its check, whether it passes through to the target (TargetOptions) and whether it
// belongs in a failure's replay line. From this table come the options handed to parseFlags (./args.ts),
// the checks every usage error comes from, `s2conform --help` and `s2conform <cmd> --help`, the
// options a run opens its target with, and the replay line (docs/options.md).
// `regress` parses its own subcommands (./regress.ts) and is not here.

import { existsSync } from 'node:fs';
import type { TargetOptions } from '../adapters/index.ts';
import { TARGET_GRAMMAR } from '../adapters/spec.ts';
import { FAMILIES, type Family } from '../core/property.ts';
import { getProfile, PROFILE_GRAMMAR, profileNames } from '../oracles/profiles.ts';

export type Command = 'run' | 'report' | 'bench' | 'crosscheck' | 'kcidb';

/** The flags given to one subcommand, as parsed: what a check may look at besides its own value. */
export type Given = Readonly<Record<string, string | boolean | readonly (string | boolean)[] | undefined>>;

/** The options of a target that come from the command line as they are (artefactDir and strict are the run's). */
export type PassThrough = Omit<TargetOptions, 'artefactDir' | 'strict'>;

export interface Flag {
  /** without the leading -- */
  readonly name: string;
  /** multiple: a string flag that may be given more than once (its value: every one given, in order) */
  readonly type: 'string' | 'boolean' | 'multiple';
  /** a string flag's default (a boolean's is false, a multiple one's none); --help adds "(default …)"
   *  unless the help text says it itself */
  readonly default?: string;
  readonly commands: readonly Command[];
  /** what --help calls the value */
  readonly arg?: string;
  /** lines of --help, wrapped by hand */
  readonly help: string;
  /** the usage error a value (each of a multiple flag's values) makes, or undefined */
  readonly check?: (value: string, given: Given) => string | undefined;
  /** the TargetOptions a value gives the run's target, untouched */
  readonly target?: (value: string) => PassThrough;
  /** in a failure's replay line (in the table's order); quoted: between single quotes */
  readonly replay?: 'plain' | 'quoted';
}

const positive = (flag: string) => (v: string) =>
  /^[1-9][0-9]*$/.test(v) ? undefined : `${flag} takes a positive whole number, not '${v}'`;
const integer = (v: string) => (/^-?[0-9]+$/.test(v) ? undefined : `--seed takes an integer, not '${v}'`);

/** The subcommands: what each is for, and the arguments it takes besides its flags. */
export const COMMANDS: Readonly<
  Record<
    Command,
    {
      readonly summary: string;
      /** the positional arguments, their --help line, and the usage error a wrong number of them makes */
      readonly positionals?: { readonly arg: string; readonly help?: string; readonly check: (p: readonly string[]) => string | undefined };
      /** the global --help gives the run's options in their own section: its usage line only says so */
      readonly brief?: string;
    }
  >
> = {
  run: {
    summary: 'run the properties against a target and write the reports',
    brief: '[options]',
    positionals: { arg: '', check: (p) => (p.length > 0 ? `unexpected argument '${p[0]}'` : undefined) },
  },
  report: {
    summary: 'merge runs (targets, profiles) into one HTML conformance matrix',
    positionals: {
      arg: '<summary.json...>',
      help: 'one or more summary.json files from s2conform run, one column each',
      check: (p) => (p.length === 0 ? 'report needs at least one summary.json (try --help)' : undefined),
    },
  },
  bench: { summary: 'cases/s per family on the simulator and on each target given' },
  crosscheck: {
    summary: `replay a real target's failures under the other emulator and on the
simulated kernel of that release; classify each as pointing at KVM,
the emulator or the oracle (written into the reports)`,
    positionals: {
      arg: '<summary.json>',
      help: 'the summary.json of a run on a qemu: target',
      check: (p) => (p.length !== 1 ? 'crosscheck takes one summary.json (try --help)' : undefined),
    },
  },
  kcidb: {
    summary: `runs as one KernelCI KCIDB v5.3 submission (checked against the
schema's rules; nothing is sent). --check <kcidb.json...>: only check`,
    positionals: {
      arg: '<summary.json...>',
      help: 'summary.json files from s2conform run (with --check: kcidb.json files)',
      check: (p) => (p.length === 0 ? 'kcidb needs at least one summary.json (or kcidb.json with --check)' : undefined),
    },
  },
};

/** The subcommands of the table, in --help's order. */
export const COMMAND_NAMES = Object.keys(COMMANDS) as Command[];

/** The table. Its order is that of --help and of the replay line. */
export const FLAGS = [
  {
    name: 'target',
    type: 'string',
    default: 'sim',
    commands: ['run'],
    arg: 'T',
    help: `sim (default: the embedded simulator), sim:<mutant> (the simulator with one
historical kernel bug put back, adapters/simulator/mutants.ts),
qemu:<cpu>[,vhe|,nvhe|,protected][,mte][,qemu=<emulator>]@<kernel>  (a real KVM in
QEMU; <kernel> is a name from fixtures/kernels.json or a path to an arm64 Image you
built; needs npm run provision), native (this arm64 host's /dev/kvm),
ssh:<user@host>[:port] (an arm64 machine over ssh). Grammar: ${TARGET_GRAMMAR}`,
    replay: 'plain',
  },
  {
    name: 'target',
    type: 'multiple',
    commands: ['bench'],
    arg: 'T',
    help: 'a real target to measure too (as run --target; may be given more than once)',
  },
  {
    name: 'qemu',
    type: 'string',
    commands: ['run'],
    arg: 'Q',
    help: `the emulator of a qemu: target: a name from fixtures/emulators.json or a path to
qemu-system-aarch64 (default: the pinned default, QEMU 10)`,
    target: (qemu) => ({ qemu }),
    replay: 'plain',
  },
  {
    name: 'qemu',
    type: 'string',
    commands: ['crosscheck'],
    arg: 'OTHER',
    help: `the emulator to replay under: a name from fixtures/emulators.json or a path to
qemu-system-aarch64 (default: the one of fixtures/emulators.json the run did not use)`,
  },
  {
    name: 'kernel-config',
    type: 'string',
    commands: ['run'],
    arg: 'FILE',
    help: `the .config of a kernel given by path (default: beside the image, or the tree's)`,
    target: (kernelConfig) => ({ kernelConfig }),
    replay: 'plain',
  },
  {
    name: 'boot-timeout',
    type: 'string',
    commands: ['run'],
    arg: 'S',
    help: `seconds a qemu: target may take from start to the helper's READY line (default
120; a kernel that does not boot in time ends the run with exit 4 and its last
console lines)`,
    check: (v) => (/^[1-9][0-9]*$/.test(v) ? undefined : `--boot-timeout takes a whole number of seconds, not '${v}'`),
    target: (s) => ({ bootTimeoutMs: Number(s) * 1000 }),
    replay: 'plain',
  },
  {
    name: 'kernel-args',
    type: 'string',
    commands: ['run'],
    arg: 'A',
    help: `more kernel command line for a qemu: target, after the adapter's own (e.g.
'arm64.nolva', or 'kvm-arm.mode=none' to see how a run reports a kernel without KVM)`,
    check: (v) =>
      v.trim() === '' || /[\n'"]/.test(v)
        ? `--kernel-args takes kernel parameters separated by spaces, without quotes or newlines, not '${v}'`
        : undefined,
    target: (kernelArgs) => ({ kernelArgs }),
    replay: 'quoted',
  },
  {
    name: 'ssh-config',
    type: 'string',
    commands: ['run'],
    arg: 'FILE',
    help: `the ssh client config an ssh: target uses (ssh -F FILE; default ~/.ssh/config):
its host aliases, keys and known_hosts`,
    check: (v, given) =>
      !existsSync(v)
        ? `--ssh-config: no such file '${v}'`
        : !String(given['target']).startsWith('ssh:')
          ? '--ssh-config goes with an ssh: target'
          : undefined,
    target: (sshConfig) => ({ sshConfig }),
    replay: 'plain',
  },
  {
    name: 'jobs',
    type: 'string',
    commands: ['run'],
    arg: 'N',
    help: `N targets of the same spec (N QEMU instances; on the simulator N worker threads)
share the run's properties; the same seed gives the same report as --jobs 1
(default: one per two cores for qemu:, one per core for ssh: and native, 1 on
the simulator)`,
    check: positive('--jobs'),
  },
  {
    name: 'shard',
    type: 'string',
    commands: ['run'],
    arg: 'i/n',
    help: `run only the i-th of n shares of the selected properties (property k goes to share
k mod n): n machines or jobs with the same seed give the verdicts one run would;
merge their summary.json files with s2conform report / s2conform kcidb`,
    check: (v) => {
      const sh = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(v);
      return sh && Number(sh[1]) <= Number(sh[2]) ? undefined : `--shard takes i/n with 1 <= i <= n, not '${v}'`;
    },
  },
  {
    name: 'profile',
    type: 'string',
    default: 'auto',
    commands: ['run'],
    arg: 'P',
    help: `auto (default: mainline on sim; on real targets the kernel's version plus the stable
backports its release carries) or one of:
${profileNames().join(', ')}
or ${PROFILE_GRAMMAR}`,
    check: (v) =>
      v !== 'auto' && getProfile(v) === undefined
        ? `unknown profile '${v}' (known: auto, ${profileNames().join(', ')}, or ${PROFILE_GRAMMAR})`
        : undefined,
    replay: 'plain',
  },
  {
    name: 'family',
    type: 'string',
    commands: ['run'],
    arg: 'F',
    help: `comma-separated families: ${FAMILIES.join(', ')} (default: all)`,
    check: (v) => {
      const bad = families(v).find((f) => !FAMILIES.includes(f as Family));
      return bad === undefined ? undefined : `unknown family '${bad}' (known: ${FAMILIES.join(', ')})`;
    },
  },
  {
    name: 'property',
    type: 'string',
    commands: ['run'],
    arg: 'ID',
    help: 'only this property (family/name, as in the report), e.g. for a replay',
    replay: 'plain',
  },
  {
    name: 'seed',
    type: 'string',
    commands: ['run'],
    arg: 'S',
    help: 'fast-check seed (default: random; printed and stored in the report)',
    check: integer,
    replay: 'plain',
  },
  {
    name: 'path',
    type: 'string',
    commands: ['run'],
    arg: 'P',
    help: 'replay path of a counterexample (with --property and --seed)',
    check: (v, given) =>
      !/^[0-9]+(:[0-9]+)*$/.test(v)
        ? `--path takes a fast-check path like 12:0:3, not '${v}'`
        : given['property'] === undefined
          ? '--path replays one property: give --property too'
          : given['seed'] === undefined
            ? '--path needs the --seed it was found with'
            : undefined,
    replay: 'plain',
  },
  {
    name: 'runs',
    type: 'string',
    default: '100',
    commands: ['run'],
    arg: 'N',
    help: 'cases per property',
    check: positive('--runs'),
    replay: 'plain',
  },
  {
    name: 'runs',
    type: 'string',
    default: '200',
    commands: ['bench'],
    arg: 'N',
    help: 'cases per property',
    check: positive('--runs'),
  },
  {
    name: 'seed',
    type: 'string',
    default: '1',
    commands: ['bench'],
    arg: 'S',
    help: 'fast-check seed',
    check: (v) => integer(v) ?? (Number.isSafeInteger(Number(v)) ? undefined : `--seed takes an integer, not '${v}'`),
  },
  {
    name: 'strict',
    type: 'boolean',
    commands: ['run'],
    help: `injected aborts carry the syndrome bits the architecture gives a
hardware abort (WnR on stores), not the ones KVM means to inject`,
    replay: 'plain',
  },
  {
    name: 'report',
    type: 'string',
    commands: ['run'],
    arg: 'DIR',
    help: `where the reports go (default reports/<timestamp>-<target>/): summary.json,
ktap.txt (KTAP version 1), junit.xml, index.html, kcidb.json (KernelCI KCIDB
v5.3); rewritten after every property`,
  },
  {
    name: 'out',
    type: 'string',
    default: 'report.html',
    commands: ['report'],
    arg: 'FILE',
    help: 'the HTML file to write',
  },
  {
    name: 'out',
    type: 'string',
    default: 'kcidb.json',
    commands: ['kcidb'],
    arg: 'FILE',
    help: 'the submission to write',
  },
  {
    name: 'check',
    type: 'boolean',
    commands: ['kcidb'],
    help: 'only check the kcidb.json files given against the schema (exit 1 if one is not valid)',
  },
  { name: 'quiet', type: 'boolean', commands: ['run'], help: 'only the final line (no progress, no per-property lines)' },
  { name: 'quiet', type: 'boolean', commands: ['report', 'kcidb'], help: 'do not print the path written' },
  { name: 'quiet', type: 'boolean', commands: ['crosscheck'], help: 'print nothing but errors' },
] as const satisfies readonly Flag[];

type Entry = (typeof FLAGS)[number];
type EntryOf<C extends Command, E extends Entry = Entry> = E extends Entry ? (C extends E['commands'][number] ? E : never) : never;
type ValueOf<E extends Entry> = E['type'] extends 'boolean'
  ? boolean
  : E['type'] extends 'multiple'
    ? string[]
    : E extends { readonly default: string }
      ? string
      : string | undefined;
/** The flags of one subcommand, parsed and checked. */
export type Values<C extends Command> = { readonly [E in EntryOf<C> as E['name']]: ValueOf<E> };
/** The flags that pass through to the target, as given on the command line. */
export type TargetFlags = { readonly [E in Extract<Entry, { readonly target: unknown }> as E['name']]?: string };
export type ReplayFlags = { readonly [E in Extract<Entry, { readonly replay: string }> as E['name']]?: string | number | boolean };

export const flagsOf = (cmd: Command): readonly Flag[] => (FLAGS as readonly Flag[]).filter((f) => f.commands.includes(cmd));

/** --family's value: the families it names. */
export function families(v: string): string[] {
  return v.split(',').map((f) => f.trim());
}
