/** `npm run read-models:rebuild [-- DEPLOYMENT]`: the deployments read model, replayed from the event store. */
import { createDataSource, rebuildDeployments } from '@eplb/persistence';
import { loadConfig } from '@eplb/platform';

(async () => {
  const ds = createDataSource(loadConfig().DATABASE_URL, 'eplb-rebuild');
  await ds.initialize();
  try {
    const n = await rebuildDeployments(ds, process.argv[2]);
    process.stdout.write(`rebuilt ${n} deployment(s) from the event store\n`);
  } finally {
    await ds.destroy();
  }
})().catch((err: unknown) => {
  process.stderr.write(`rebuild: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
