import type { EChartsCoreOption } from 'echarts/core';
import type { RefObject } from 'preact';
import { useEffect } from 'preact/hooks';

/**
 * An ECharts chart in `host`, drawn with the option `build` makes whenever a dep changes (no
 * chart when it makes none): ECharts is fetched the first time a chart is drawn, the chart
 * follows the window's width, and it is disposed with its component or before it is redrawn.
 */
export function useEChart(host: RefObject<HTMLElement>, build: () => EChartsCoreOption | null, deps: readonly unknown[]): void {
  useEffect(() => {
    const option = build();
    if (!host.current || !option) return;
    let gone = false;
    let chart: { resize(): void; dispose(): void } | null = null;
    const onResize = () => chart?.resize();
    import('./echarts').then(
      ({ echarts }) => {
        if (gone || !host.current) return;
        const c = echarts.init(host.current, undefined, { renderer: 'canvas' });
        c.setOption(option);
        chart = c;
        window.addEventListener('resize', onResize);
      },
      // a chart that cannot load leaves its box empty; the page's figures and tables still show
      (err: unknown) => console.error('the charts could not be loaded', err),
    );
    return () => {
      gone = true;
      window.removeEventListener('resize', onResize);
      chart?.dispose();
    };
  }, deps);
}
