import { runMain } from '@eplb/platform';
import { startCollector } from './start-collector';

runMain('collector', (config, logger) => startCollector(config, logger));
