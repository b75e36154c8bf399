import { describe, expect, it } from 'vitest';
import { HEAT_COLOURS, heatColour } from './colour-scale';
import { cellAt, heatmapPixels, labelStep, maxCount } from './heatmap-pixels';

const rgbOf = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

describe('heatmap pixels', () => {
  it('colours the ends of the scale with its first and last stops, the middle between', () => {
    expect(heatColour(0, 0, 10)).toEqual(rgbOf(HEAT_COLOURS[0]));
    expect(heatColour(10, 0, 10)).toEqual(rgbOf(HEAT_COLOURS[3]));
    expect(heatColour(20, 0, 10)).toEqual(rgbOf(HEAT_COLOURS[3]));
    expect(heatColour(10 / 3, 0, 10)).toEqual(rgbOf(HEAT_COLOURS[1]));
    expect(heatColour(5, 5, 5)).toEqual(rgbOf(HEAT_COLOURS[0]));
  });

  it('is one opaque pixel per cell, layer 0 on the bottom row', () => {
    // 2 layers × 3 experts; the hot cell is layer 0, expert 2
    const counts = [
      [0, 0, 9],
      [0, 3, 0],
    ];
    const px = heatmapPixels(counts, maxCount(counts));
    expect(px.length).toBe(2 * 3 * 4);
    const at = (row: number, col: number) => Array.from(px.slice((row * 3 + col) * 4, (row * 3 + col) * 4 + 4));
    expect(at(1, 2)).toEqual([...rgbOf(HEAT_COLOURS[3]), 255]);
    expect(at(0, 1)).toEqual([...rgbOf(HEAT_COLOURS[1]), 255]);
    expect(at(0, 0)).toEqual([...rgbOf(HEAT_COLOURS[0]), 255]);
  });

  it('finds the cell under a point, and none outside the plot', () => {
    const plot = { width: 256, height: 58 };
    expect(cellAt(0, 57.5, plot, 58, 256)).toEqual({ layer: 0, expert: 0 });
    expect(cellAt(255.9, 0, plot, 58, 256)).toEqual({ layer: 57, expert: 255 });
    expect(cellAt(-1, 3, plot, 58, 256)).toBeNull();
    expect(cellAt(3, 58, plot, 58, 256)).toBeNull();
  });

  it('labels every cell when there is room, every 2^k-th when not', () => {
    expect(labelStep(16, 1000, 30)).toBe(1);
    expect(labelStep(256, 1000, 30)).toBe(8);
    expect(labelStep(58, 380, 14)).toBe(4);
    expect(maxCount([[0, 0]])).toBe(1);
  });
});
