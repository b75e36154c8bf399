import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { HEAT_COLOURS } from './colour-scale';
import { cellAt, heatmapPixels, labelStep, maxCount } from './heatmap-pixels';

/** A performance mark (User Timing) set once a page's first heatmap is drawn: what bench:console measures. */
export const HEATMAP_DRAWN = 'eplb:heatmap-drawn';

// room around the cells for the axes and, under them, the colour legend
const PAD = { left: 64, right: 24, top: 16, bottom: 96 };
const HEIGHT = 480;
const INK = '#24292e';
const MUTED = '#6a737d';
const FONT = '12px system-ui, sans-serif';

interface Hover {
  readonly layer: number;
  readonly expert: number;
  readonly count: number;
  readonly x: number;
  readonly y: number;
  /** On the right half the label goes left of the pointer, so it stays inside the chart. */
  readonly flip: boolean;
}

/**
 * Layers (rows) × logical experts (columns), coloured by the tokens each expert was routed, drawn
 * straight onto a canvas: the cells are one image of a pixel each, scaled up (a DeepSeek-V3 map is
 * 58 × 256 = 14 848 cells, the page's first paint). Hovering a cell names its layer, expert and count.
 */
export function HeatmapCanvas({ counts, onDrawn }: { counts: readonly (readonly number[])[]; onDrawn?: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const layers = counts.length;
  const experts = counts[0]?.length ?? 0;

  // drawn before the browser paints (a layout effect), and again when the page's width changes
  useLayoutEffect(() => {
    const box = host.current;
    if (!box || !canvas.current || layers === 0 || experts === 0) return;
    const max = maxCount(counts);
    const cells = document.createElement('canvas');
    cells.width = experts;
    cells.height = layers;
    cells.getContext('2d')!.putImageData(new ImageData(heatmapPixels(counts, max), experts, layers), 0, 0);
    let width = 0;
    const draw = () => {
      if (!canvas.current || box.clientWidth === width) return;
      width = box.clientWidth;
      drawChart(canvas.current, cells, width, layers, experts, max);
    };
    draw();
    // the page's first meaningful paint: the browser's own timeline marks when the cells are on the canvas
    if (performance.getEntriesByName(HEATMAP_DRAWN).length === 0) performance.mark(HEATMAP_DRAWN);
    onDrawn?.();
    const resized = new ResizeObserver(draw);
    resized.observe(box);
    return () => resized.disconnect();
  }, [counts]);

  const onMove = (e: MouseEvent) => {
    const box = host.current!.getBoundingClientRect();
    const x = e.clientX - box.left;
    const y = e.clientY - box.top;
    const cell = cellAt(x - PAD.left, y - PAD.top, { width: box.width - PAD.left - PAD.right, height: HEIGHT - PAD.top - PAD.bottom }, layers, experts);
    setHover(cell ? { ...cell, count: counts[cell.layer][cell.expert], x, y, flip: x > box.width / 2 } : null);
  };
  return (
    <div ref={host} class="heatmap" data-testid="heatmap" onMouseMove={onMove} onMouseLeave={() => setHover(null)}>
      <canvas ref={canvas} />
      {hover ? (
        <div class="chart-tip" data-testid="heatmap-tip" style={{ ...(hover.flip ? { right: `${(host.current?.clientWidth ?? 0) - hover.x + 12}px` } : { left: `${hover.x + 12}px` }), top: `${hover.y + 12}px` }}>
          layer {hover.layer}, expert {hover.expert}: {hover.count} tokens
        </div>
      ) : null}
    </div>
  );
}

/** The cells scaled into the plot area, the axes with their labels, and the colour legend from 0 to `max`. */
function drawChart(canvas: HTMLCanvasElement, cells: HTMLCanvasElement, width: number, layers: number, experts: number, max: number): void {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(HEIGHT * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${HEIGHT}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.scale(ratio, ratio);
  const plot = { x: PAD.left, y: PAD.top, width: width - PAD.left - PAD.right, height: HEIGHT - PAD.top - PAD.bottom };
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, plot.x, plot.y, plot.width, plot.height);

  ctx.font = FONT;
  ctx.fillStyle = MUTED;
  ctx.strokeStyle = MUTED;
  ctx.strokeRect(plot.x - 0.5, plot.y - 0.5, plot.width + 1, plot.height + 1);
  const cellW = plot.width / experts;
  const cellH = plot.height / layers;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const xStep = labelStep(experts, plot.width, 32);
  for (let e = 0; e < experts; e += xStep) ctx.fillText(String(e), plot.x + (e + 0.5) * cellW, plot.y + plot.height + 6);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const yStep = labelStep(layers, plot.height, 14);
  for (let l = 0; l < layers; l += yStep) ctx.fillText(String(l), plot.x - 6, plot.y + plot.height - (l + 0.5) * cellH);

  ctx.fillStyle = INK;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText('expert', plot.x + plot.width / 2, plot.y + plot.height + 24);
  ctx.save();
  ctx.translate(16, plot.y + plot.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('layer', 0, 0);
  ctx.restore();

  // the legend: the scale's colours from 0 to the hottest cell's count
  const legend = { width: 240, height: 12, x: (width - 240) / 2, y: HEIGHT - 28 };
  const gradient = ctx.createLinearGradient(legend.x, 0, legend.x + legend.width, 0);
  HEAT_COLOURS.forEach((c, i) => gradient.addColorStop(i / (HEAT_COLOURS.length - 1), c));
  ctx.fillStyle = gradient;
  ctx.fillRect(legend.x, legend.y, legend.width, legend.height);
  ctx.fillStyle = INK;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  ctx.fillText('0', legend.x - 6, legend.y + legend.height / 2);
  ctx.textAlign = 'left';
  ctx.fillText(`${max} tokens`, legend.x + legend.width + 6, legend.y + legend.height / 2);
}
