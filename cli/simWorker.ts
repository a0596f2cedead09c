// One simulator job in a worker thread (`run --jobs N` on sim): the main thread hands it property ids,
// it runs each from the seed alone, exactly as the main thread would, and posts the result back. The
// simulator is pure CPU, so N threads use N cores; the same seed gives the report of --jobs 1.

import { parentPort, workerData } from 'node:worker_threads';
import { targetFromSpec } from '../adapters/index.ts';
import { deviationsFor, loadDeviations } from '../core/deviations.ts';
import { propertyId } from '../core/property.ts';
import { runProperty } from '../core/runner.ts';
import { getProfile } from '../oracles/profiles.ts';
import { propertiesOf } from '../properties/index.ts';
import { DEVIATIONS_FILE, replayCommand, type SimJobData } from './runShared.ts';

const { args, profile } = workerData as SimJobData;
const port = parentPort;
if (!port) throw new Error('simWorker runs as a worker thread');
const prof = getProfile(profile);
if (!prof) throw new Error(`unknown profile ${profile}`);
const target = await targetFromSpec(args.target, { strict: args.strict });
const info = await target.open();
const deviations = loadDeviations(DEVIATIONS_FILE);
const byId = new Map(propertiesOf(args.families).map((p) => [propertyId(p), p]));
const replay = replayCommand(args, prof, args.runs);

port.on('message', (m: { readonly k: number; readonly id: string }) => {
  const p = byId.get(m.id);
  if (!p) throw new Error(`unknown property ${m.id}`);
  void runProperty(
    p,
    { target, info, profile: prof, deviations: deviationsFor(deviations, m.id, info) },
    {
      runs: args.runs,
      seed: args.seed,
      path: args.path,
      strict: args.strict,
      replayCommand: replay,
    },
  ).then((r) => port.postMessage({ k: m.k, r }));
});
port.postMessage({ ready: true });
