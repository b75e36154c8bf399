import { useRef } from 'preact/hooks';
import { useEChart } from '../shell/use-echart';
import { HEAT_COLOURS } from './colour-scale';

export interface MatrixChartProps {
  /** values[x][y]: one column per x (e.g. a time bucket), one cell per y (an expert, a layer). */
  readonly values: readonly (ArrayLike<number>)[];
  readonly xLabels: readonly string[];
  readonly xName: string;
  readonly yName: string;
  /** What a cell's number is, for the tooltip: "tokens", "imbalance". */
  readonly unit: string;
  readonly testId: string;
  readonly height?: number;
  /** Colour scale's lower end (imbalance starts at 1, counts at 0). */
  readonly min?: number;
}

/** A heatmap of any x × y grid on a canvas, zoomable along x (thousands of time buckets stay legible). */
export function MatrixChart({ values, xLabels, xName, yName, unit, testId, height = 320, min = 0 }: MatrixChartProps) {
  const host = useRef<HTMLDivElement>(null);
  useEChart(
    host,
    () => {
      const ys = values[0]?.length ?? 0;
      const data: [number, number, number][] = [];
      let max = min;
      values.forEach((col, x) => {
        for (let y = 0; y < col.length; y++) {
          data.push([x, y, col[y]]);
          if (col[y] > max) max = col[y];
        }
      });
      return {
        animation: false,
        tooltip: { formatter: (p: { value: [number, number, number] }) => `${xName} ${xLabels[p.value[0]]}, ${yName} ${p.value[1]}: ${round(p.value[2])} ${unit}` },
        grid: { left: 64, right: 24, top: 16, bottom: 88 },
        xAxis: { type: 'category', name: xName, nameLocation: 'middle', nameGap: 28, data: [...xLabels] },
        yAxis: { type: 'category', name: yName, nameLocation: 'middle', nameGap: 40, data: Array.from({ length: ys }, (_, y) => y) },
        dataZoom: values.length > 60 ? [{ type: 'inside', xAxisIndex: 0 }] : [],
        visualMap: { min, max: Math.max(max, min + 1e-9), calculable: true, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: [...HEAT_COLOURS] } },
        series: [{ type: 'heatmap', data, progressive: 0 }],
      };
    },
    [values, xLabels],
  );
  return <div ref={host} class="matrix" style={{ height: `${height}px` }} data-testid={testId} />;
}

const round = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(3));
