/**
 * The console's one colour scale for heat: cold (pale) through blue to hot (orange). The
 * layers × experts canvas and the ECharts matrices colour with the same stops, so a colour means
 * the same share of the maximum on every chart.
 */
export const HEAT_COLOURS = ['#f7fbff', '#6baed6', '#08306b', '#e6550d'] as const;

type Rgb = readonly [number, number, number];

const STOPS: readonly Rgb[] = HEAT_COLOURS.map((hex) => [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)] as const);

/** The colour of `value` on a scale from `min` to `max`, linear between evenly spaced stops (as ECharts' visualMap does). */
export function heatColour(value: number, min: number, max: number): Rgb {
  const t = max > min ? Math.min(Math.max((value - min) / (max - min), 0), 1) : 0;
  const at = t * (STOPS.length - 1);
  const i = Math.min(Math.floor(at), STOPS.length - 2);
  const f = at - i;
  const a = STOPS[i];
  const b = STOPS[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}
