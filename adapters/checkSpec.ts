// A --target spec checked against what exists: the pinned kernels and emulators and the
// simulator's mutants. The grammar is adapters/spec.ts; this module only supplies the names, so
// that the adapter index and the kvm adapter share one parser without importing each other.

import { emulatorPins, kernelPins } from './kvm/pins.ts';
import { mutantNames } from './simulator/mutants.ts';
import { parseTargetSpec, type TargetSpec } from './spec.ts';

/** The spec, parsed; a UsageError (exit 2) names what is unknown. */
export function checkTargetSpec(spec: string): TargetSpec {
  return parseTargetSpec(spec, {
    kernels: kernelPins().map((k) => k.name),
    emulators: emulatorPins().emulators.map((e) => e.name),
    mutants: mutantNames(),
  });
}
