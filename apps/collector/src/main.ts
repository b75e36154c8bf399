import { runMain } from '@eplb/platform';
import { startCollector } from './start-collector';

// No heat would be read any more while /healthz still said alive: exit, and the supervisor's
// restart (a fresh consumer) takes the partitions over.
runMain('collector', (config, logger) =>
  startCollector(config, logger, config.COLLECTOR_PORT, (app) => {
    void app.close().finally(() => process.exit(1));
  }),
);
