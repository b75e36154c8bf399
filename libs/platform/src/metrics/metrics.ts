import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per process. Metric names are `eplb_<app-part>_<what>_<unit>` so a dashboard can
 * find every app's figures with one prefix.
 */
export const metricsRegistry = new Registry();
/**
 * How often the event loop's delay is sampled. prom-client's default (10 ms) is a timer that wakes
 * every process 100 times a second, busy or idle: on a small shared host more wake-ups than the
 * rollout's own messages give an agent, each a context switch for nothing. At 100 ms the lag
 * figures keep ten samples a second.
 */
const EVENT_LOOP_SAMPLE_MS = 100;
collectDefaultMetrics({ register: metricsRegistry, prefix: 'eplb_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });

export const httpRequestDuration = new Histogram({
  name: 'eplb_http_request_duration_seconds',
  help: 'HTTP request duration by route and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});

export const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
  new Counter<L>({ name, help, labelNames: [...labelNames], registers: [metricsRegistry] });

export const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []) =>
  new Histogram<L>({ name, help, buckets, labelNames: [...labelNames], registers: [metricsRegistry] });

export const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
  new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [metricsRegistry] });
