// s2conform command line: run, report, bench, crosscheck, kcidb (their flags: the table in ./flags.ts,
// which `s2conform --help` and `s2conform <cmd> --help` print; docs/options.md) and regress (./regress.ts).
// exit 0 all conform, 1 at least one deviation, 2 usage or infrastructure error, 4 nothing could run,
// 130 / 143 stopped by SIGINT / SIGTERM (reports written with "complete": false).

import { FAMILIES, type Family } from '../core/property.ts';
import { UsageError } from '../adapters/index.ts';
import { commandHelp, optionsHelp, usageLines } from './flagHelp.ts';
import { parseCommand, targetFlags } from './flagParse.ts';
import { COMMAND_NAMES, type Command, families } from './flags.ts';
import { reportCommand, type ReportArgs } from './report.ts';
import { runCommand, type RunArgs } from './run.ts';
import { regressCommand } from './regress.ts';
import { benchCommand, type BenchArgs } from './bench.ts';
import { crosscheckCommand, type CrosscheckArgs } from './crosscheck.ts';
import { kcidbCommand, type KcidbArgs } from './kcidb.ts';

export const VERSION = '0.1.0';

const HELP = `s2conform ${VERSION}: conformance of KVM/arm64 stage-2 and IPA semantics, by properties

Usage:
${COMMAND_NAMES.map(usageLines).join('')}  s2conform regress add <summary.json> [--property ID] [--name ID] [--note TEXT]
                               add a report's shrunk counterexamples to fixtures/regressions/
                               (replayed first by every run; s2conform regress --help)
  s2conform <command> --help   the options of one command
  s2conform --help             this text

${COMMAND_NAMES.map(optionsHelp).join('\n')}
Output: colour only on a terminal, and never when NO_COLOR is set. On a terminal a status
line shows the family, the property and its cases/s; in a log, a progress line every 30 s.

Exit status of run: 0 all conform, 1 at least one deviation, 2 usage or infrastructure error,
4 nothing could run (a kernel that does not boot, a broken cache), 130 / 143 stopped by Ctrl-C /
SIGTERM (QEMU stopped first, reports written with "complete": false). Of report: 0 written, 2 usage error (a file missing or not a summary.json).
`;

function runArgs(argv: readonly string[]): RunArgs {
  const { values: v } = parseCommand('run', argv);
  const sh = v.shard?.split('/').map(Number);
  return {
    target: v.target,
    profile: v.profile,
    families: (v.family === undefined ? [...FAMILIES] : families(v.family)) as Family[],
    property: v.property,
    runs: Number(v.runs),
    seed: v.seed === undefined ? (Date.now() ^ (process.pid << 16)) | 0 : Number(v.seed),
    path: v.path,
    strict: v.strict,
    report: v.report,
    quiet: v.quiet,
    targetFlags: targetFlags(v),
    shard: sh ? { index: sh[0] as number, count: sh[1] as number } : undefined,
    jobs: v.jobs === undefined ? 'auto' : Number(v.jobs),
  };
}

/** What a command line asks for, checked: every usage error is thrown here, before anything runs. */
export type Invocation =
  | {
      readonly cmd: 'help';
      readonly exit: number;
      /** `<cmd> --help`: that command's help; else the whole */
      readonly of?: Command;
    }
  | { readonly cmd: 'run'; readonly args: RunArgs }
  | { readonly cmd: 'report'; readonly args: ReportArgs }
  | { readonly cmd: 'bench'; readonly args: BenchArgs }
  | { readonly cmd: 'crosscheck'; readonly args: CrosscheckArgs }
  | { readonly cmd: 'kcidb'; readonly args: KcidbArgs }
  | { readonly cmd: 'regress'; readonly argv: string[] };

export function parseCommandLine(argv: readonly string[]): Invocation {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') return { cmd: 'help', exit: cmd === undefined ? 2 : 0 };
  const known = COMMAND_NAMES.find((c) => c === cmd);
  if (known && (rest.includes('--help') || rest.includes('-h'))) return { cmd: 'help', exit: 0, of: known };
  switch (cmd) {
    case 'run':
      return { cmd, args: runArgs(rest) };
    case 'report': {
      const { values, positionals } = parseCommand(cmd, rest);
      return { cmd, args: { files: positionals, out: values.out, quiet: values.quiet } };
    }
    case 'bench': {
      const { values } = parseCommand(cmd, rest);
      return { cmd, args: { targets: values.target, runs: Number(values.runs), seed: Number(values.seed) } };
    }
    case 'crosscheck': {
      const { values, positionals } = parseCommand(cmd, rest);
      return { cmd, args: { file: positionals[0] as string, qemu: values.qemu, quiet: values.quiet } };
    }
    case 'kcidb': {
      const { values, positionals } = parseCommand(cmd, rest);
      return { cmd, args: { files: positionals, out: values.out, check: values.check, quiet: values.quiet } };
    }
    case 'regress':
      return { cmd, argv: rest }; // the regression corpus parses its own subcommands
  }
  throw new UsageError(`unknown command '${cmd}' (try --help)`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    const inv = parseCommandLine(argv);
    switch (inv.cmd) {
      case 'help':
        // run's and report's options are the global text's own sections (and always were what their --help printed)
        process.stdout.write(inv.of === undefined || inv.of === 'run' || inv.of === 'report' ? HELP : commandHelp(inv.of));
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
