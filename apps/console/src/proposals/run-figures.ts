/** One layer of a proposal: imbalance now (map in service) and projected (candidate), and its moves. */
export interface LayerFigure {
  readonly layer: number;
  readonly current: number;
  readonly candidate: number;
  readonly transfers: number;
  readonly chosen: boolean;
}

export interface RunFigures {
  readonly layers: readonly LayerFigure[];
  readonly transfers: number;
  readonly bytes: number;
  readonly currentMean: number | null;
  readonly candidateMean: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * A policy run's figures as the scheduler recorded them (a JSON object whose keys depend on the
 * outcome: a failed run holds its attempts only), read defensively: what is missing is empty.
 */
export function runFigures(figures: Record<string, unknown>): RunFigures {
  const layers = Array.isArray(figures.layers)
    ? figures.layers.flatMap((l: unknown): LayerFigure[] => {
        if (typeof l !== 'object' || l === null) return [];
        const o = l as Record<string, unknown>;
        const layer = num(o.layer);
        const current = num(o.current);
        const candidate = num(o.candidate);
        if (layer === null || current === null || candidate === null) return [];
        return [{ layer, current, candidate, transfers: num(o.transfers) ?? 0, chosen: o.chosen === true }];
      })
    : [];
  return { layers, transfers: num(figures.transfers) ?? 0, bytes: num(figures.bytes) ?? 0, currentMean: num(figures.currentMean), candidateMean: num(figures.candidateMean) };
}
