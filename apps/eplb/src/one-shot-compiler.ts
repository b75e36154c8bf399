import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings for a process that plans once and exits (`eplb plan`), set before the planning
 * modules load. Such a process spends much of its time beyond reading the file compiling the
 * planners' hot loops (on a background thread, while the main thread runs them unoptimised), and
 * optimised code that pays back over hours in a long-lived scheduler does not here. A smaller
 * cumulative inlining budget per optimised function (default 920 bytes of bytecode) makes each
 * compilation cheaper and ready sooner; the planners' hot calls are small and still inlined. On
 * the 232-layer file of bench/plan-speed.bench.ts it cut the CPU time by 5–8% in three sets of
 * interleaved runs. Loop peeling is off: it compiles each hot loop's first iteration a second
 * time, outside the loop, so that the checks that iteration proves are dropped from the rest —
 * a larger graph, compiled for longer, for code that here runs milliseconds once compiled. On the
 * same file it cut the compiler thread's CPU by ~20 ms of ~130 (four sets of 12–20 interleaved
 * runs), and the process's by 10–30 ms. On-stack replacement is off too: it compiles a loop
 * hot in its first call a second time, for entry mid-loop, and the planners' loops are in
 * functions called once per layer, which the ordinary compile (on a later call) serves; the
 * OSR code is then thrown away. On the same file: ~20 ms less of the compiler thread's CPU and
 * ~25 ms less in all (20 interleaved runs); other policies and files within the noise (CPU
 * without it against with it, 5 runs each: flash on the 232 layers 4.34 s against 4.27, default
 * without a map in service 4.55 against 4.58). Only how code is compiled changes, not what it computes: decisions, and so the
 * maps, are the same.
 */
export function tuneCompilerForOneShot(): void {
  setFlagsFromString('--max-inlined-bytecode-size-cumulative=300');
  setFlagsFromString('--no-turbo-loop-peeling');
  setFlagsFromString('--no-use-osr');
}
