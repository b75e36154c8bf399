import { HeatmapChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'preact/hooks';

// Only the parts drawn here, on a canvas: a DeepSeek-V3 heatmap is 58 × 256 = 14 848 cells.
echarts.use([HeatmapChart, GridComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

/** A performance mark (User Timing) set once a page's first heatmap is drawn: what bench:console measures. */
export const HEATMAP_DRAWN = 'eplb:heatmap-drawn';

/** Layers (rows) × logical experts (columns), coloured by the tokens each expert was routed. */
export function HeatmapCanvas({ counts, onDrawn }: { counts: readonly (readonly number[])[]; onDrawn?: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!host.current) return;
    const chart = echarts.init(host.current, undefined, { renderer: 'canvas' });
    const layers = counts.length;
    const experts = counts[0]?.length ?? 0;
    const data: [number, number, number][] = [];
    let max = 0;
    counts.forEach((row, l) =>
      row.forEach((c, e) => {
        data.push([e, l, c]);
        if (c > max) max = c;
      }),
    );
    // the page's first meaningful paint: the browser's own timeline marks when the cells are on the
    // canvas (subscribed first: setOption may render, and finish, before it returns)
    chart.on('finished', () => {
      if (performance.getEntriesByName(HEATMAP_DRAWN).length === 0) performance.mark(HEATMAP_DRAWN);
      onDrawn?.();
    });
    chart.setOption({
      animation: false,
      tooltip: { formatter: (p: { value: [number, number, number] }) => `layer ${p.value[1]}, expert ${p.value[0]}: ${p.value[2]} tokens` },
      grid: { left: 64, right: 24, top: 16, bottom: 96 },
      xAxis: { type: 'category', name: 'expert', nameLocation: 'middle', nameGap: 28, data: Array.from({ length: experts }, (_, e) => e) },
      yAxis: { type: 'category', name: 'layer', nameLocation: 'middle', nameGap: 40, data: Array.from({ length: layers }, (_, l) => l) },
      visualMap: { min: 0, max: Math.max(max, 1), calculable: true, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#f7fbff', '#6baed6', '#08306b', '#e6550d'] } },
      series: [{ type: 'heatmap', data, progressive: 0 }],
    });
    const onResize = () => chart.resize();
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      chart.dispose();
    };
  }, [counts]);
  return <div ref={host} class="heatmap" data-testid="heatmap" />;
}
