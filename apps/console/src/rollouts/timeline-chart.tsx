import type { RolloutTimeline } from '@eplb/contracts';
import { useRef } from 'preact/hooks';
import { useEChart } from '../shell/use-echart';

const COLOURS: Record<string, string> = { prepare: '#6baed6', commit: '#31a354', abort: '#de2d26' };
const INVERSE = '#fd8d3c';

type Datum = [number, number, number, number, string, string];

/**
 * Per layer of the rollout (rows, in rollout order), its transitions as bars over time: prepare
 * (blue), commit (green), abort (red), rollback transitions orange; a refused or expired bar is
 * hatched dark; an open one runs to the newest event. Gate verdicts and operator controls are
 * vertical marks.
 */
export function TimelineChart({ timeline }: { timeline: RolloutTimeline }) {
  const host = useRef<HTMLDivElement>(null);
  useEChart(
    host,
    () => {
      if (timeline.startedMs === null) return null;
      const rows = timeline.layers.map((l) => l.layer);
      const t0 = timeline.startedMs;
      const last = timeline.lastEventMs ?? t0;
      const data: Datum[] = timeline.bars.map((b) => [rows.indexOf(b.layer), b.startMs - t0, (b.endMs ?? last) - t0, b.attempt, `${b.phase}${b.direction === 'inverse' ? ' (rollback)' : ''}`, b.outcome + (b.error ? `: ${b.error}` : '')]);
      const marks = [
        ...timeline.batches.flatMap((b) => (b.gate?.verdictMs ? [{ xAxis: b.gate.verdictMs - t0, name: `batch ${b.index} gate ${b.gate.passed ? 'passed' : 'failed'}` }] : [])),
        ...timeline.operator.map((o) => ({ xAxis: o.atMs - t0, name: `${o.action} by ${o.actor ?? '?'}` })),
      ];
      return {
        animation: false,
        tooltip: { formatter: (p: { value: Datum }) => `layer ${rows[p.value[0]]} ${p.value[4]}, attempt ${p.value[3]}: ${p.value[1]}–${p.value[2]} ms, ${p.value[5]}` },
        grid: { left: 72, right: 24, top: 24, bottom: 40 },
        xAxis: { type: 'value', name: 'ms since start', nameLocation: 'middle', nameGap: 26, min: 0, max: Math.max(last - t0, 1) },
        yAxis: { type: 'category', name: 'layer', data: rows, inverse: true },
        series: [
          {
            type: 'custom',
            encode: { x: [1, 2], y: 0 },
            data,
            renderItem: (_params: unknown, api: { value: (i: number) => number | string; coord: (v: [number, number]) => number[]; size: (v: [number, number]) => number[]; style: () => object }) => {
              const row = api.value(0) as number;
              const start = api.coord([api.value(1) as number, row]);
              const end = api.coord([api.value(2) as number, row]);
              const h = api.size([0, 1])[1] * 0.6;
              const phase = String(api.value(4));
              const outcome = String(api.value(5));
              const fill = phase.includes('rollback') ? INVERSE : (COLOURS[phase] ?? '#999');
              return {
                type: 'rect',
                shape: { x: start[0], y: start[1] - h / 2, width: Math.max(end[0] - start[0], 2), height: h },
                style: { fill, stroke: outcome.startsWith('ok') || outcome.startsWith('open') ? undefined : '#000', lineWidth: 2, opacity: outcome.startsWith('open') ? 0.5 : 1 },
              };
            },
            markLine: { symbol: 'none', label: { formatter: '{b}', fontSize: 10 }, lineStyle: { color: '#555', type: 'dashed' }, data: marks },
          },
        ],
      };
    },
    [timeline],
  );
  if (timeline.startedMs === null) return <p class="muted">Not started: nothing to draw yet.</p>;
  return <div ref={host} class="timeline" style={{ height: `${Math.max(160, 36 * timeline.layers.length + 64)}px` }} data-testid="timeline" />;
}
