#!/usr/bin/env node
/**
 * `eplb plan --policy greedy` with the planning in WebAssembly: reads the heat file with the
 * built reader (dist's heatFileFromBytes, JSON.parse when the file is not in the plain form),
 * plans every layer with greedy.wasm (assembly/greedy.ts: the greedy, the alignment to the map in
 * service, the per-layer reports), writes the same plan file as the CLI.
 *
 *   node plan-wasm.cjs --input HEAT.json --output PLAN.json [--warm N] [--wasm-reader]
 *
 * --wasm-reader: the heat array is read from the file's bytes inside the module too
 * (assembly/heat-reader.ts, whole counts only); a file it does not take is read as without it.
 * Plain CommonJS on purpose: a TypeScript loader would add its own start-up to the cold process
 * this probe measures. --warm N plans the file N times in this one process and prints each
 * round's milliseconds (read + plan + write) as one JSON line.
 */
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..', '..');
const domain = require(join(ROOT, 'dist', 'libs', 'domain', 'src', 'index.js'));

// PLAN_WASM_PHASES=1: the milliseconds of reading, planning (wasm) and writing, on stderr
const PHASES = process.env.PLAN_WASM_PHASES === '1';
const now = () => Number(process.hrtime.bigint()) / 1e6;

function option(argv, name) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** The policy's input from the heat file, as runPlanCommand's readHeatFile reads it. */
function readHeatFile(path) {
  const bytes = readFileSync(path);
  const plain = domain.heatFileFromBytes(bytes);
  if (plain) return plain;
  return domain.heatFileToInput(JSON.parse(new TextDecoder('utf-8').decode(bytes)));
}

/**
 * The top-level fields before "heat", scalars only (what `eplb heat export` writes): the text up
 * to the heat array's first byte. Any other form goes to the domain's reader.
 */
const HEAD = /^\s*\{(?:\s*"[A-Za-z_]+"\s*:\s*(?:-?[0-9][0-9.eE+-]*|true|false|null)\s*,)*\s*"heat"\s*:\s*/;

/**
 * The policy's input with the heat read by the module straight into its own heat buffer (setup
 * done), or null where the file is not in the form it reads: then readHeatFile reads it, and
 * names what is wrong if anything is.
 */
function readHeatIntoKernel(wasm, path) {
  const bytes = readFileSync(path);
  wasm.reset();
  const from = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const head = HEAD.exec(bytes.latin1Slice(from, Math.min(bytes.length, from + 4096)));
  if (!head) return null;
  const i = from + head[0].length;
  const at = wasm.newBytes(bytes.length);
  // the memory's buffer read after the allocation: growing it detaches the one before
  new Uint8Array(wasm.memory.buffer, at, bytes.length).set(bytes);
  const end = wasm.scanHeatShape(i);
  if (end < 0) return null;
  // the rest, as heatFileFromBytes parses it: every field but the heat, a 0 in its place
  const after = bytes.toString('utf8', end);
  if (after.includes('"heat"') || after.includes('\\')) return null;
  let doc;
  try {
    doc = JSON.parse(`${bytes.toString('utf8', from, i)}0${after}`);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const { heat: _placeholder, ...fields } = doc;
  const R = fields.num_ranks, S = fields.slots_per_rank;
  if (!Number.isInteger(R) || !Number.isInteger(S) || R <= 0 || S <= 0) return null;
  const K = wasm.heatShape(0), L = wasm.heatShape(1), E = wasm.heatShape(2);
  wasm.setup(K, L, E, R * S, fields.current !== undefined && fields.current !== null);
  wasm.fillHeat(i);
  // views on the module's heat: read by the input checks before the plan (the plan's own
  // allocations may grow the memory, which detaches them)
  const heat = [];
  const base = wasm.heatPtr();
  for (let k = 0; k < K; k++) {
    const layers = [];
    for (let l = 0; l < L; l++) layers.push(new Float64Array(wasm.memory.buffer, base + (k * L + l) * E * 8, E));
    heat.push(layers);
  }
  return domain.heatFileToInput(fields, heat);
}

/** The compiled kernel, instantiated once per process (Liftoff compiles it on the spot). */
function kernel() {
  const bytes = readFileSync(join(__dirname, 'build', 'greedy.wasm'));
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: {
      abort: (_msg, _file, line, col) => {
        throw new Error(`greedy.wasm: abort at ${line}:${col}`);
      },
    },
  });
  return exports;
}

/** greedy's plan of `input` (a PolicyResult, as getPolicy('greedy') returns it). */
function planGreedy(wasm, input, heatInKernel) {
  domain.assertPolicyInput(input);
  const { shape, heat, current } = input;
  const { numRanks: R, slotsPerRank: S, numNodes: N, numLayers: L, numExperts: E } = shape;
  const G = shape.numGroups ?? 0;
  const K = heat.length, P = R * S;
  if (!heatInKernel) {
    wasm.reset();
    wasm.setup(K, L, E, P, current !== undefined);
    // views after setup: growing the memory detaches the earlier ones
    const h = new Float64Array(wasm.memory.buffer, wasm.heatPtr(), K * L * E);
    for (let k = 0; k < K; k++) for (let l = 0; l < L; l++) h.set(heat[k][l], (k * L + l) * E);
  }
  const mem = wasm.memory.buffer;
  if (current) {
    const c = new Int32Array(mem, wasm.currentPtr(), L * P);
    for (let l = 0; l < L; l++) c.set(current[l], l * P);
  }
  const t0 = now();
  wasm.planAll(K, L, E, R, S, N, G, 0);
  const t1 = now();
  const out = new Int32Array(wasm.memory.buffer, wasm.planPtr(), L * P);
  const rep = new Float64Array(wasm.memory.buffer, wasm.reportPtr(), L * wasm.REPORT_FIELDS.value);
  const map = [];
  const layers = [];
  const orNull = (v) => (Number.isNaN(v) ? null : v);
  for (let l = 0; l < L; l++) {
    map.push(Array.from(out.subarray(l * P, (l + 1) * P)));
    const o = l * wasm.REPORT_FIELDS.value;
    layers.push({
      imbalanceBefore: orNull(rep[o]),
      imbalanceAfter: rep[o + 1],
      episodeBefore: orNull(rep[o + 2]),
      episodeAfter: rep[o + 3],
      transfers: rep[o + 4],
      redeployed: rep[o + 5] === 1,
    });
  }
  domain.assertPhysicalToLogical(map, L, E, domain.numSlots(shape));
  if (PHASES) process.stderr.write(`in wasm (planAll) ${(t1 - t0).toFixed(1)} ms, the rows out and checked ${(now() - t1).toFixed(1)} ms; `);
  return { policy: 'greedy', physicalToLogical: map, layers };
}

/** One `eplb plan --policy greedy --input … --output …` (expert bytes 0), wasm planning. */
function planFile(wasm, input, output, wasmReader) {
  const t0 = now();
  const inKernel = wasmReader ? readHeatIntoKernel(wasm, input) : null;
  const base = inKernel ?? readHeatFile(input);
  const t1 = now();
  const result = planGreedy(wasm, base, inKernel !== null);
  const t2 = now();
  const doc = domain.planFileDocument(result);
  if (base.current) doc.layers = doc.layers.map((row, l) => ({ ...row, bytes: result.layers[l].transfers * 0 }));
  writeFileSync(output, `${JSON.stringify(doc)}\n`);
  const t3 = now();
  if (PHASES) process.stderr.write(`${inKernel ? 'heat read in wasm; ' : ''}phases ms: read ${(t1 - t0).toFixed(1)} plan ${(t2 - t1).toFixed(1)} write ${(t3 - t2).toFixed(1)}\n`);
}

function main(argv) {
  const t0 = now();
  const input = option(argv, 'input'), output = option(argv, 'output');
  if (!input || !output) throw new Error('usage: node plan-wasm.cjs --input HEAT.json --output PLAN.json [--warm N]');
  const wasm = kernel();
  if (PHASES) process.stderr.write(`kernel instantiated in ${(now() - t0).toFixed(1)} ms\n`);
  const warm = Number(option(argv, 'warm') ?? 0);
  const wasmReader = argv.includes('--wasm-reader');
  if (warm <= 0) return planFile(wasm, input, output, wasmReader);
  const ms = [];
  for (let i = 0; i < warm; i++) {
    const t0 = now();
    planFile(wasm, input, output, wasmReader);
    ms.push(now() - t0);
  }
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
}

main(process.argv.slice(2));
