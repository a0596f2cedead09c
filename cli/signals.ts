// Ctrl-C and SIGTERM during a run: stop the target (no orphaned QEMU), write the reports as
// incomplete, and exit with the conventional status (128 + signal number).

export type StopSignal = 'SIGINT' | 'SIGTERM';

export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Call `stop` once on the first SIGINT or SIGTERM, then exit with 130 or 143. A second signal
 * while `stop` runs exits at once. Returns the function that removes the handlers.
 */
export function onStopSignal(stop: (signal: StopSignal) => Promise<void>): () => void {
  let stopping = false;
  const handler = (signal: StopSignal): void => {
    if (stopping) process.exit(SIGNAL_EXIT[signal]);
    stopping = true;
    stop(signal)
      .catch((e: unknown) => process.stderr.write(`s2conform: while stopping: ${e instanceof Error ? e.message : String(e)}\n`))
      .finally(() => process.exit(SIGNAL_EXIT[signal]));
  };
  const onInt = (): void => handler('SIGINT');
  const onTerm = (): void => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}

/** Resolve after ms, or when p settles: stopping never waits long on a target that hangs. */
export function within(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    p.then(
      () => resolve(),
      () => resolve(),
    ).finally(() => clearTimeout(t));
  });
}
