/**
 * The V8 flags an app's process is started with. The launchers take them from here
 * (scripts/supervisor.ts for `npm start`, the test and bench harnesses); docker-compose.yml,
 * which cannot import them, repeats them in its commands. They must be on the command line: V8
 * sizes its heap as the process starts, and Node refuses `--min-semi-space-size` in NODE_OPTIONS.
 *
 * agent: a young generation of 16 MB instead of the 1 MB V8 starts with. Through a rollout an
 * agent allocates some 100 kB per layer (the commands' plan parts, the acks' holdings, the peer
 * frames), nearly all of it dead by the next layer: with 1 MB it scavenged every few layers, each
 * time pausing the agent on the chain of commits every layer waits for, and its young generation
 * shrank back to 1 MB while it waited between rollouts. At 16 MB a rollout of 58 layers costs it a
 * scavenge or two. The price is up to 48 MB of memory on an inference node.
 */
const APP_NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  agent: ['--min-semi-space-size=16'],
};

/** The flags to start `app` (the name of its directory under apps/) with. */
export const nodeFlagsOf = (app: string): string[] => [...(APP_NODE_FLAGS[app] ?? [])];

const flagName = (flag: string): string => flag.split('=')[0];

/**
 * The flags of `app` this process was started without. A flag given with another value counts
 * as given: whoever launched it chose.
 */
export function missingNodeFlags(app: string, execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.map(flagName));
  return nodeFlagsOf(app).filter((f) => !given.has(flagName(f)));
}
