// A worker thread of `s2conform run --jobs N` on the simulator: TypeScript through tsx, as bin/ does.
import { register } from 'tsx/esm/api';

register();
await import('./simWorker.ts');
