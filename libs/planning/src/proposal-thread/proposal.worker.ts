import { parentPort, workerData } from 'node:worker_threads';
import { DomainError, propose } from '@eplb/domain';
import type { ProposalJob, ProposalReply } from './proposal-job';

/** The thread's whole life: one proposal, answered, then exit. */
function run(job: ProposalJob): ProposalReply {
  const { numLayers: L, numExperts: E } = job.shape;
  const heat = job.loads.map((v) => Array.from({ length: L }, (_, l) => v.subarray(l * E, (l + 1) * E)));
  try {
    return { ok: true, proposal: propose(job.shape, heat, job.current, job.settings) };
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { ok: false, code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) };
  }
}

parentPort?.postMessage(run(workerData as ProposalJob));
