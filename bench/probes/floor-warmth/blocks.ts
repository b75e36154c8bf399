/**
 * Is the rollout floor still warming up after its unmeasured layers (startFloor's)? bench:rollout measures the
 * floor in blocks between its rounds (startFloor once, then a block before each round, about 1.5 s
 * of the floor's processes idle between blocks); a floor still compiling its hot paths in the first
 * blocks would read slower there and flatter the ratio. This starts the floor (with and without
 * the peer fetches), then runs FLOOR_WARMTH_BLOCKS (default 8) blocks of 77 layers, 1.5 s apart,
 * and prints each block's p50 (ms). Run under the CPU lock:
 *   DATABASE_URL=… node -r @swc-node/register bench/probes/floor-warmth/blocks.ts
 */
import { loadConfig } from '@eplb/platform';
import { floorFigures, startFloor } from '../../rollout-floor.bench';

const BLOCKS = Number(process.env.FLOOR_WARMTH_BLOCKS ?? 8);

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const control = await startFloor(config.DATABASE_URL, false);
  const full = await startFloor(config.DATABASE_URL);
  try {
    const rows: { block: number; control: number; full: number }[] = [];
    for (let b = 0; b < BLOCKS; b++) {
      await new Promise((r) => setTimeout(r, 1500));
      rows.push({ block: b + 1, control: floorFigures(await control.measure(77)).p50, full: floorFigures(await full.measure(77)).p50 });
      process.stderr.write(`block ${b + 1}: p50 ${rows[b].full} ms, without the peer fetches ${rows[b].control} ms\n`);
    }
    process.stdout.write(`${JSON.stringify(rows)}\n`);
  } finally {
    await control.stop();
    await full.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
