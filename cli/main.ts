// s2conform command line. The contract (README, "Reading a result"; docs/options.md):
//   s2conform run [--target sim] [--profile auto|<name>] [--family f1,f2] [--property ID] [--runs N] [--seed S]
//                 [--path P] [--strict] [--report DIR] [--quiet] [--qemu Q] [--kernel-config FILE]
//                 [--boot-timeout S] [--kernel-args A] [--ssh-config FILE] [--jobs N] [--shard i/n]
//   s2conform report <summary.json...> [--out FILE] [--quiet]
//   s2conform bench [--target T ...] [--runs N] [--seed S]
//   s2conform crosscheck <summary.json> [--qemu OTHER] [--quiet]
//   s2conform kcidb <summary.json...> [--out FILE] | --check <kcidb.json...>
//   s2conform regress add <summary.json> [--property ID] [--name ID] [--note TEXT]
// exit 0 all conform, 1 at least one deviation, 2 usage or infrastructure error, 4 nothing could run,
// 130 / 143 stopped by SIGINT / SIGTERM (reports written with "complete": false).

import { parseFlags } from './args.ts';
import { existsSync } from 'node:fs';
import { FAMILIES, type Family } from '../core/property.ts';
import { getProfile, PROFILE_GRAMMAR, profileNames } from '../oracles/profiles.ts';
import { TARGET_GRAMMAR } from '../adapters/spec.ts';
import { UsageError } from '../adapters/index.ts';
import { reportCommand, type ReportArgs } from './report.ts';
import { runCommand, type RunArgs } from './run.ts';
import { regressCommand } from './regress.ts';
import { benchCommand, type BenchArgs } from './bench.ts';
import { crosscheckCommand, type CrosscheckArgs } from './crosscheck.ts';
import { kcidbCommand, type KcidbArgs } from './kcidb.ts';

export const VERSION = '0.1.0';

const HELP = `s2conform ${VERSION}: conformance of KVM/arm64 stage-2 and IPA semantics, by properties

Usage:
  s2conform run [options]      run the properties against a target and write the reports
  s2conform report <summary.json...> [--out FILE] [--quiet]
                               merge runs (targets, profiles) into one HTML conformance matrix
  s2conform bench [--target T ...] [--runs N] [--seed S]
                               cases/s per family on the simulator and on each target given
  s2conform crosscheck <summary.json> [--qemu OTHER]
                               replay a real target's failures under the other emulator and on the
                               simulated kernel of that release; classify each as pointing at KVM,
                               the emulator or the oracle (written into the reports)
  s2conform kcidb <summary.json...> [--out FILE]
                               runs as one KernelCI KCIDB v5.3 submission (checked against the
                               schema's rules; nothing is sent). --check <kcidb.json...>: only check
  s2conform regress add <summary.json> [--property ID] [--name ID] [--note TEXT]
                               add a report's shrunk counterexamples to fixtures/regressions/
                               (replayed first by every run; s2conform regress --help)
  s2conform --help             this text

Options of run:
  --target T     sim (default: the embedded simulator), sim:<mutant> (the simulator with one
                 historical kernel bug put back, adapters/simulator/mutants.ts),
                 qemu:<cpu>[,vhe|,nvhe|,protected][,mte][,qemu=<emulator>]@<kernel>  (a real KVM in
                 QEMU; <kernel> is a name from fixtures/kernels.json or a path to an arm64 Image you
                 built; needs npm run provision), native (this arm64 host's /dev/kvm),
                 ssh:<user@host>[:port] (an arm64 machine over ssh). Grammar: ${TARGET_GRAMMAR}
  --qemu Q       the emulator of a qemu: target: a name from fixtures/emulators.json or a path to
                 qemu-system-aarch64 (default: the pinned default, QEMU 10)
  --kernel-config FILE
                 the .config of a kernel given by path (default: beside the image, or the tree's)
  --boot-timeout S
                 seconds a qemu: target may take from start to the helper's READY line (default
                 120; a kernel that does not boot in time ends the run with exit 4 and its last
                 console lines)
  --jobs N       N targets of the same spec (N QEMU instances; on the simulator N worker threads)
                 share the run's properties; the same seed gives the same report as --jobs 1
                 (default: one per two cores for qemu:, one per core for ssh: and native, 1 on
                 the simulator)
  --shard i/n    run only the i-th of n shares of the selected properties (property k goes to share
                 k mod n): n machines or jobs with the same seed give the verdicts one run would;
                 merge their summary.json files with s2conform report / s2conform kcidb
  --ssh-config FILE
                 the ssh client config an ssh: target uses (ssh -F FILE; default ~/.ssh/config):
                 its host aliases, keys and known_hosts
  --kernel-args A
                 more kernel command line for a qemu: target, after the adapter's own (e.g.
                 'arm64.nolva', or 'kvm-arm.mode=none' to see how a run reports a kernel without KVM)
  --profile P    auto (default: mainline on sim; on real targets the kernel's version plus the stable
                 backports its release carries) or one of:
                 ${profileNames().join(', ')}
                 or ${PROFILE_GRAMMAR}
  --family F     comma-separated families: ${FAMILIES.join(', ')} (default: all)
  --property ID  only this property (family/name, as in the report), e.g. for a replay
  --runs N       cases per property (default 100)
  --seed S       fast-check seed (default: random; printed and stored in the report)
  --path P       replay path of a counterexample (with --property and --seed)
  --strict       injected aborts carry the syndrome bits the architecture gives a
                 hardware abort (WnR on stores), not the ones KVM means to inject
  --report DIR   where the reports go (default reports/<timestamp>-<target>/): summary.json,
                 ktap.txt (KTAP version 1), junit.xml, index.html, kcidb.json (KernelCI KCIDB
                 v5.3); rewritten after every property
  --quiet        only the final line (no progress, no per-property lines)

Options of report:
  <summary.json...>  one or more summary.json files from s2conform run, one column each
  --out FILE         the HTML file to write (default report.html)
  --quiet            do not print the path written

Output: colour only on a terminal, and never when NO_COLOR is set. On a terminal a status
line shows the family, the property and its cases/s; in a log, a progress line every 30 s.

Exit status of run: 0 all conform, 1 at least one deviation, 2 usage or infrastructure error,
4 nothing could run (a kernel that does not boot, a broken cache), 130 / 143 stopped by Ctrl-C /
SIGTERM (QEMU stopped first, reports written with "complete": false). Of report: 0 written, 2 usage error (a file missing or not a summary.json).
`;

function fail(msg: string): never {
  throw new UsageError(msg);
}

function parseRunArgs(argv: readonly string[]): RunArgs {
  const { values, positionals } = parseFlags(
    argv,
    {
      target: { type: 'string', default: 'sim' },
      profile: { type: 'string', default: 'auto' },
      family: { type: 'string' },
      property: { type: 'string' },
      runs: { type: 'string', default: '100' },
      seed: { type: 'string' },
      path: { type: 'string' },
      strict: { type: 'boolean', default: false },
      report: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      qemu: { type: 'string' },
      'kernel-config': { type: 'string' },
      'boot-timeout': { type: 'string' },
      'kernel-args': { type: 'string' },
      'ssh-config': { type: 'string' },
      shard: { type: 'string' },
      jobs: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    true,
  );
  if (positionals.length > 0) fail(`unexpected argument '${positionals[0]}'`);
  const bt = values['boot-timeout'];
  if (bt !== undefined && !/^[1-9][0-9]*$/.test(bt)) fail(`--boot-timeout takes a whole number of seconds, not '${bt}'`);
  const sh = values.shard === undefined ? undefined : /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(values.shard);
  if (values.shard !== undefined && (!sh || Number(sh[1]) > Number(sh[2])))
    fail(`--shard takes i/n with 1 <= i <= n, not '${values.shard}'`);
  if (values.jobs !== undefined && !/^[1-9][0-9]*$/.test(values.jobs)) fail(`--jobs takes a positive whole number, not '${values.jobs}'`);
  const ka = values['kernel-args'];
  if (ka !== undefined && (ka.trim() === '' || /[\n'"]/.test(ka)))
    fail(`--kernel-args takes kernel parameters separated by spaces, without quotes or newlines, not '${ka}'`);
  const sc = values['ssh-config'];
  if (sc !== undefined && !existsSync(sc)) fail(`--ssh-config: no such file '${sc}'`);
  if (sc !== undefined && !values.target.startsWith('ssh:')) fail('--ssh-config goes with an ssh: target');
  const families = values.family === undefined ? [...FAMILIES] : values.family.split(',').map((f) => f.trim());
  for (const f of families) if (!FAMILIES.includes(f as Family)) fail(`unknown family '${f}' (known: ${FAMILIES.join(', ')})`);
  if (!/^[1-9][0-9]*$/.test(values.runs)) fail(`--runs takes a positive whole number, not '${values.runs}'`);
  if (values.seed !== undefined && !/^-?[0-9]+$/.test(values.seed)) fail(`--seed takes an integer, not '${values.seed}'`);
  if (values.path !== undefined && !/^[0-9]+(:[0-9]+)*$/.test(values.path))
    fail(`--path takes a fast-check path like 12:0:3, not '${values.path}'`);
  if (values.path !== undefined && values.property === undefined) fail('--path replays one property: give --property too');
  if (values.path !== undefined && values.seed === undefined) fail('--path needs the --seed it was found with');
  if (values.profile !== 'auto' && getProfile(values.profile) === undefined) {
    fail(`unknown profile '${values.profile}' (known: auto, ${profileNames().join(', ')}, or ${PROFILE_GRAMMAR})`);
  }
  return {
    target: values.target,
    profile: values.profile,
    families: families as Family[],
    property: values.property,
    runs: Number(values.runs),
    seed: values.seed === undefined ? (Date.now() ^ (process.pid << 16)) | 0 : Number(values.seed),
    path: values.path,
    strict: values.strict,
    report: values.report,
    quiet: values.quiet,
    qemu: values.qemu,
    kernelConfig: values['kernel-config'],
    bootTimeoutS: bt === undefined ? undefined : Number(bt),
    kernelArgs: values['kernel-args'],
    sshConfig: sc,
    shard: sh ? { index: Number(sh[1]), count: Number(sh[2]) } : undefined,
    jobs: values.jobs === undefined ? 'auto' : Number(values.jobs),
  };
}

function parseReportArgs(argv: readonly string[]): ReportArgs {
  const { values, positionals } = parseFlags(
    argv,
    {
      out: { type: 'string', default: 'report.html' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    true,
  );
  if (positionals.length === 0) fail('report needs at least one summary.json (try --help)');
  return { files: positionals, out: values.out, quiet: values.quiet };
}

/** What a command line asks for, checked: every usage error is thrown here, before anything runs. */
export type Invocation =
  | { readonly cmd: 'help'; readonly exit: number }
  | { readonly cmd: 'run'; readonly args: RunArgs }
  | { readonly cmd: 'report'; readonly args: ReportArgs }
  | { readonly cmd: 'bench'; readonly args: BenchArgs }
  | { readonly cmd: 'crosscheck'; readonly args: CrosscheckArgs }
  | { readonly cmd: 'kcidb'; readonly args: KcidbArgs }
  | { readonly cmd: 'regress'; readonly argv: string[] };

export function parseCommandLine(argv: readonly string[]): Invocation {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') return { cmd: 'help', exit: cmd === undefined ? 2 : 0 };
  if ((cmd === 'run' || cmd === 'report') && (rest.includes('--help') || rest.includes('-h'))) return { cmd: 'help', exit: 0 };
  if (cmd === 'run') return { cmd, args: parseRunArgs(rest) };
  if (cmd === 'report') return { cmd, args: parseReportArgs(rest) };
  if (cmd === 'bench') {
    const { values } = parseFlags(rest, {
      target: { type: 'string', multiple: true, default: [] },
      runs: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
    });
    if (!/^[1-9][0-9]*$/.test(values.runs)) fail(`--runs takes a positive whole number, not '${values.runs}'`);
    if (!/^-?[0-9]+$/.test(values.seed) || !Number.isSafeInteger(Number(values.seed)))
      fail(`--seed takes an integer, not '${values.seed}'`);
    return { cmd, args: { targets: values.target, runs: Number(values.runs), seed: Number(values.seed) } };
  }
  if (cmd === 'crosscheck') {
    const { values, positionals } = parseFlags(rest, { qemu: { type: 'string' }, quiet: { type: 'boolean', default: false } }, true);
    if (positionals.length !== 1) fail('crosscheck takes one summary.json (try --help)');
    return { cmd, args: { file: positionals[0] as string, qemu: values.qemu, quiet: values.quiet } };
  }
  if (cmd === 'kcidb') {
    const { values, positionals } = parseFlags(
      rest,
      {
        out: { type: 'string', default: 'kcidb.json' },
        check: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
      },
      true,
    );
    if (positionals.length === 0) fail('kcidb needs at least one summary.json (or kcidb.json with --check)');
    return { cmd, args: { files: positionals, out: values.out, check: values.check, quiet: values.quiet } };
  }
  if (cmd === 'regress') return { cmd, argv: rest }; // the regression corpus parses its own subcommands
  return fail(`unknown command '${cmd}' (try --help)`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    const inv = parseCommandLine(argv);
    switch (inv.cmd) {
      case 'help':
        process.stdout.write(HELP);
        return inv.exit;
      case 'run':
        return await runCommand(inv.args, VERSION);
      case 'report':
        return reportCommand(inv.args);
      case 'bench':
        return await benchCommand(inv.args);
      case 'crosscheck':
        return await crosscheckCommand(inv.args);
      case 'kcidb':
        return kcidbCommand(inv.args);
      case 'regress':
        return regressCommand(inv.argv);
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const line = (msg.split('\n')[0] ?? '').replace(/\. To specify a positional argument.*$/, '');
    // a JavaScript error of our own (TypeError, RangeError, …) is a bug, and says so: still one line
    const bug = e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof SyntaxError;
    if (bug && process.env['S2CONFORM_DEBUG']) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    process.stderr.write(
      `s2conform: ${usage ? '' : bug ? `internal error (a bug; S2CONFORM_DEBUG=1 shows where): ${(e as Error).name}: ` : 'error: '}${line}\n`,
    );
    return 2;
  }
}
