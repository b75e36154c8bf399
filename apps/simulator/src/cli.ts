import { assertShape, DeploymentShape } from '@eplb/domain';
import { HeatPublisher, KafkajsBus, type HeatPublisherStats } from '@eplb/messaging';
import { ApiClient } from '@eplb/api-client';
import { UsageError } from '@eplb/cli';
import type { KafkaSasl } from '@eplb/platform';
import { shapeFromBody, shapeToBody } from '@eplb/contracts';
import { findDeployment, registerDeployment } from './deployment-registration';
import { parseSimArgs, SimOptions, USAGE } from './sim-options';
import { ApiMapReader, DbMapReader } from './map-readers';
import { CommittedMapSource, MapSource, StaticMapSource } from './map-source';
import { runSimulation, RunSummary } from './run';

export interface CliEnv {
  readonly argv: readonly string[];
  readonly defaultToken: string;
  readonly defaultBrokers: () => readonly string[];
  /** The worker principal's credentials on a broker that requires SASL (KAFKA_SASL_*). */
  readonly kafkaSasl?: () => KafkaSasl | undefined;
  /** Postgres of the control plane, for `--map-source db`. */
  readonly defaultDatabaseUrl?: () => string;
  readonly signal: AbortSignal;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

/** The simulator's command: returns the exit code; main.ts wires process, env and signals. */
export async function simulatorCli(env: CliEnv): Promise<number> {
  let o: SimOptions | 'help';
  try {
    o = parseSimArgs(env.argv, { token: env.defaultToken });
  } catch (err) {
    if (err instanceof UsageError) {
      env.stderr(`sim: ${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (o === 'help') {
    env.stdout(USAGE);
    return 0;
  }
  const { shape, latestVersion } = await resolveShape(o, env);
  assertShape(shape);
  const mapSource = await openMapSource(o, shape, latestVersion, env);

  let publisher: HeatPublisher | null = null;
  let bus: KafkajsBus | null = null;
  let dryCount = 0;
  if (!o.dryRun) {
    const brokers = o.brokers ?? env.defaultBrokers();
    bus = new KafkajsBus({
      brokers,
      sasl: env.kafkaSasl?.(),
      clientId: `eplb-sim-${o.deployment}`,
      log: (level, message) => (level === 'error' || level === 'warn' ? env.stderr(`sim: ${message}`) : undefined),
    });
    try {
      publisher = new HeatPublisher(await bus.producer(), { validate: o.validate, encoding: o.encoding, maxBatchSize: 256, lingerMs: 5, maxInFlight: 2 });
    } catch (err) {
      await Promise.allSettled([bus.close(), mapSource.close?.()]);
      throw err;
    }
  }
  const pub = publisher;
  let summary: RunSummary;
  let publishStats: HeatPublisherStats | null = null;
  let publishError: string | null = null;
  const t0 = performance.now();
  try {
    summary = await runSimulation(o, shape, {
      publish: pub ? (e) => pub.publish(e) : async () => void dryCount++,
      mapSource,
      signal: env.signal,
      onMapChange: (l, v) => env.stderr(`sim: layer ${l} now on map version ${v}`),
    });
  } finally {
    if (pub) {
      try {
        await pub.close();
      } catch (err) {
        publishError = (err as Error).message;
      }
      publishStats = pub.stats;
    }
    await bus?.close();
    await mapSource.close?.();
  }
  const seconds = (performance.now() - t0) / 1000;
  env.stdout(
    JSON.stringify({
      ...summary,
      dryRun: o.dryRun,
      shape: shapeToBody(shape),
      mapVersion: mapSource.current().version,
      layerVersions: mapSource.current().layers.map((m) => m.version),
      publisher: publishStats && { ...publishStats, secondsIncludingFlush: Math.round(seconds * 1000) / 1000, error: publishError },
    }),
  );
  return publishError || (publishStats && publishStats.failed > 0) ? 1 : 0;
}

/** The control-plane API as the simulator uses it; each event it causes records "simulator" as its origin. */
const apiClient = (o: SimOptions): ApiClient => new ApiClient({ baseUrl: o.api, token: o.token, reason: 'simulator', timeoutMs: 10_000 });

async function resolveShape(o: SimOptions, env: CliEnv): Promise<{ shape: DeploymentShape; latestVersion: number }> {
  if (o.create) {
    if (o.dryRun) return { shape: shapeFromBody(o.create), latestVersion: 1 };
    const { deployment, created } = await registerDeployment(apiClient(o), o.deployment, o.create);
    env.stderr(`sim: deployment ${o.deployment} ${created ? 'registered' : 'already registered with this shape'}`);
    return { shape: deployment.shape, latestVersion: deployment.mapVersion };
  }
  const d = await findDeployment(apiClient(o), o.deployment);
  if (!d) throw new Error(`deployment ${o.deployment} is not registered at ${o.api} (use --create L,E,R,S,N)`);
  return { shape: d.shape, latestVersion: d.mapVersion };
}

/**
 * The map in force per layer: with `db` or `api`, the version each layer committed (following
 * rollouts as they commit, every --map-refresh-ms); with `static`, version 1 as round-robin.
 */
async function openMapSource(o: SimOptions, shape: DeploymentShape, latestVersion: number, env: CliEnv): Promise<MapSource> {
  if (o.mapSource === 'static') {
    if (latestVersion > 1) {
      env.stderr(`sim: the deployment is at map version ${latestVersion}; the static map source simulates version 1 (round-robin) and says so in each event`);
    }
    return new StaticMapSource(shape);
  }
  const reader =
    o.mapSource === 'db'
      ? await DbMapReader.connect((env.defaultDatabaseUrl ?? (() => process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/eplb'))(), o.deployment, shape.numLayers)
      : new ApiMapReader(apiClient(o), o.deployment);
  const source = new CommittedMapSource(shape, reader, (m) => env.stderr(`sim: ${m}`));
  try {
    await source.refresh();
  } catch (err) {
    await source.close();
    throw new Error(`cannot read the committed maps (--map-source ${o.mapSource}): ${(err as Error).message}`);
  }
  env.stderr(`sim: following committed maps (${o.mapSource}); layers on versions ${source.current().layers.map((m) => m.version).join(',')}`);
  return source;
}
