import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { testConfig } from '../support/env';
import { AppProcess, freePorts, httpReady, ROOT } from '../support/processes';

const PROMETHEUS_DIR = join(ROOT, 'deploy/prometheus');
const DASHBOARD = join(ROOT, 'deploy/grafana/dashboards/eplb.json');
/** Series Prometheus makes itself, not the apps. */
const PROMETHEUS_OWN = new Set(['up']);
/** What PromQL adds to a histogram's or summary's name. */
const SERIES_SUFFIXES = ['_bucket', '_sum', '_count'];

/** Every expression of the alert rules and of the dashboard's panels and variables. */
function expressions(): string[] {
  const rules = parseYaml(readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { targets: { expr: string }[] }[];
    templating: { list: { definition?: string }[] };
  };
  return [
    ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
  ];
}

/** Metric names an expression reads (our prefix, or Prometheus' own `up`). */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  return [...withoutStrings.matchAll(/\b(eplb_[a-z0-9_]+|up)\b/g)].map((m) => m[1]);
}

/** `# TYPE name kind` lines of a /metrics page. */
function declared(page: string): Map<string, string> {
  return new Map([...page.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/**
 * The dashboards and alerts read only metrics the apps serve: each name in the alert rules and
 * the Grafana dashboard is declared on some app's /metrics (histogram series by their base name),
 * and promtool accepts the rules and passes their unit tests.
 */
describe('observability: alert rules and dashboard against the apps /metrics', () => {
  const config = testConfig();
  const apps: AppProcess[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'scripts/prometheus-deps.sh')], { stdio: 'inherit' });
    const [api, collector, scheduler, rollout, control] = await freePorts(5);
    const env = {
      DATABASE_URL: config.DATABASE_URL,
      REDIS_URL: config.REDIS_URL,
      KAFKA_GROUP_PREFIX: config.KAFKA_GROUP_PREFIX,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      HTTP_HOST: '127.0.0.1',
      MIGRATIONS_RUN_AT_START: 'false',
      API_PORT: String(api),
      COLLECTOR_PORT: String(collector),
      SCHEDULER_PORT: String(scheduler),
      ROLLOUT_PORT: String(rollout),
      ROLLOUT_CONTROL_PORT: String(control),
    };
    for (const [app, port] of [
      ['api', api],
      ['collector', collector],
      ['scheduler', scheduler],
      ['rollout', rollout],
    ] as const) {
      apps.push(new AppProcess(app, app, env));
      urls.push(`http://127.0.0.1:${port}`);
    }
    await Promise.all(urls.map((u) => httpReady(`${u}/readyz`, 120_000)));
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop('SIGTERM')));
  });

  it('promtool checks the alert rules and passes their unit tests', () => {
    const check = execFileSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
    expect(check).toMatch(/SUCCESS: \d+ rules found/);
    const tests = execFileSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
    expect(tests).toContain('SUCCESS');
  });

  it('every metric the alert rules and the dashboard read is declared by an app', async () => {
    const served = new Map<string, string>();
    for (const u of urls) {
      const res = await fetch(`${u}/metrics`);
      expect(res.status, u).toBe(200);
      for (const [name, kind] of declared(await res.text())) served.set(name, kind);
    }
    const wanted = new Set(expressions().flatMap(metricNames).filter((n) => !PROMETHEUS_OWN.has(n)));
    expect(wanted.size).toBeGreaterThan(10);
    const missing = [...wanted].filter((name) => {
      if (served.has(name)) return false;
      const suffix = SERIES_SUFFIXES.find((s) => name.endsWith(s));
      const base = suffix ? name.slice(0, -suffix.length) : null;
      return !(base && ['histogram', 'summary'].includes(served.get(base) ?? ''));
    });
    expect(missing).toEqual([]);
  });
});
