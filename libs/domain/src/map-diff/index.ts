export { diffMaps } from './map-diff';
export type { LayerDiff, MapDiff, MapDiffTotals } from './map-diff';
