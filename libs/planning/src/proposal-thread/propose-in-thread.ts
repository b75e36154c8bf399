import { Worker } from 'node:worker_threads';
import { DomainError, type Proposal } from '@eplb/domain';
import type { ProposalJob, ProposalReply } from './proposal-job';
import { proposalWorkerSource } from './worker-source';

/** The policy did not finish within its time limit; its thread was stopped. */
export class ProposalTimeLimitError extends Error {
  constructor(readonly timeLimitMs: number) {
    super(`the policy did not finish within ${timeLimitMs} ms`);
    this.name = 'ProposalTimeLimitError';
  }
}

/**
 * Runs `propose` on a thread of its own, so the caller's event loop keeps serving while a policy
 * takes seconds; stopped (and refused with ProposalTimeLimitError) after `timeLimitMs`. The load
 * vectors are moved to the thread, not copied: the caller must not use them afterwards.
 */
export function proposeInThread(job: ProposalJob, timeLimitMs: number): Promise<Proposal> {
  return new Promise<Proposal>((resolve, reject) => {
    const worker = new Worker(proposalWorkerSource(), { eval: true, workerData: job, transferList: job.loads.map((v) => v.buffer as ArrayBuffer) });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      settle(() => reject(new ProposalTimeLimitError(timeLimitMs)));
      void worker.terminate();
    }, timeLimitMs);
    worker.once('message', (reply: ProposalReply) =>
      settle(() => {
        if (reply.ok) resolve(reply.proposal);
        else reject(new DomainError(reply.code, reply.field && reply.message.startsWith(`${reply.field}: `) ? reply.message.slice(reply.field.length + 2) : reply.message, reply.field));
      }),
    );
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the proposal thread exited (code ${code}) without an answer`))));
  });
}
