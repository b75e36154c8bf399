import { heatColour } from './colour-scale';

/**
 * The layers × experts heatmap as an image of one pixel per cell (RGBA, `experts` wide and
 * `layers` high), layer 0 on the bottom row as on the console's other charts. Scaled up on the
 * page without smoothing, each pixel is a cell: 58 × 256 cells are one image, not 14 848 shapes.
 */
export function heatmapPixels(counts: readonly (readonly number[])[], max: number): Uint8ClampedArray {
  const layers = counts.length;
  const experts = counts[0]?.length ?? 0;
  const pixels = new Uint8ClampedArray(layers * experts * 4);
  for (let l = 0; l < layers; l++) {
    const row = counts[l];
    const offset = (layers - 1 - l) * experts * 4;
    for (let e = 0; e < experts; e++) {
      const [r, g, b] = heatColour(row[e], 0, max);
      const p = offset + e * 4;
      pixels[p] = r;
      pixels[p + 1] = g;
      pixels[p + 2] = b;
      pixels[p + 3] = 255;
    }
  }
  return pixels;
}

/** The largest count of the grid (at least 1: an all-zero grid still has a scale). */
export function maxCount(counts: readonly (readonly number[])[]): number {
  let max = 1;
  for (const row of counts) for (const c of row) if (c > max) max = c;
  return max;
}

/** Which cell a point of the plot area falls in (x, y from its top-left corner), or null outside it. */
export function cellAt(x: number, y: number, plot: { width: number; height: number }, layers: number, experts: number): { layer: number; expert: number } | null {
  if (x < 0 || y < 0 || x >= plot.width || y >= plot.height) return null;
  const expert = Math.floor((x / plot.width) * experts);
  const layer = layers - 1 - Math.floor((y / plot.height) * layers);
  return { layer, expert };
}

/** Every how many cells an axis is labelled so that labels stay `minGap` px apart: 1, 2, 4, 8, … */
export function labelStep(cells: number, length: number, minGap: number): number {
  let step = 1;
  while (step < cells && (length / cells) * step < minGap) step *= 2;
  return step;
}
