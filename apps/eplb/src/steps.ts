import { UsageError } from '@eplb/cli';
import type { RolloutStepInput } from '@eplb/contracts';

/**
 * Rollout batches as the command line writes them: `1:gate,4,rest` → [{layers: 1, analysis:
 * true}, 4, 'rest'] — a layer count or `rest`, `:gate` for an analysis gate after the batch.
 */
export function parseSteps(text: string, option = '--steps'): RolloutStepInput[] {
  return text.split(',').map((s) => {
    const t = s.trim();
    const [size, gate, ...more] = t.split(':');
    if (more.length || (gate !== undefined && gate !== 'gate')) throw new UsageError(`${option}: "${t}" — a batch is N, rest, N:gate or rest:gate (e.g. ${option} 1:gate,4,rest)`);
    let layers: number | 'rest';
    if (size === 'rest') layers = 'rest';
    else if (/^\d+$/.test(size) && Number(size) >= 1) layers = Number(size);
    else throw new UsageError(`${option}: "${t}" is neither a layer count nor "rest" (e.g. ${option} 1:gate,4,rest)`);
    return gate ? { layers, analysis: true } : layers;
  });
}

/** The inverse of parseSteps: `1:gate,4,rest`. */
export const formatSteps = (steps: readonly RolloutStepInput[]): string =>
  steps.map((s) => (typeof s === 'object' ? `${s.layers}${s.analysis ? ':gate' : ''}` : String(s))).join(',');
