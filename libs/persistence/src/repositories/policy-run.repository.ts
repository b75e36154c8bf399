import { DataSource, EntityManager } from 'typeorm';
import { appendEvents, EventMeta } from './event-store';

export type RunStatus = 'proposed' | 'nothing' | 'failed';

export interface NewPolicyRun {
  readonly deploymentId: string;
  /** deployment:phase:interval:settingsVersion — one run per key, however often the job runs */
  readonly runKey: string;
  readonly phase: string;
  readonly interval: number;
  readonly policy: string;
  readonly status: RunStatus;
  readonly reason: string;
  readonly baseMapVersion: number;
  readonly figures: Record<string, unknown>;
  readonly candidate: number[][] | null;
  readonly runMs: number;
}

export interface PolicyRunRecord extends NewPolicyRun {
  readonly id: string;
  readonly createdAt: Date;
  readonly decision: 'approved' | 'rejected' | null;
  readonly decidedBy: string | null;
  readonly decidedAt: Date | null;
  readonly decisionReason: string | null;
  readonly mapVersion: number | null;
}

interface Row {
  id: string; deployment_id: string; run_key: string; phase: string; interval: string; policy: string; status: RunStatus; reason: string;
  base_map_version: number; figures: Record<string, unknown>; candidate: number[][] | null; run_ms: number; created_at: Date;
  decision: 'approved' | 'rejected' | null; decided_by: string | null; decided_at: Date | null; decision_reason: string | null; map_version: number | null;
}

const toRecord = (r: Row): PolicyRunRecord => ({
  id: r.id,
  deploymentId: r.deployment_id,
  runKey: r.run_key,
  phase: r.phase,
  interval: Number(r.interval),
  policy: r.policy,
  status: r.status,
  reason: r.reason,
  baseMapVersion: r.base_map_version,
  figures: r.figures,
  candidate: r.candidate,
  runMs: r.run_ms,
  createdAt: r.created_at,
  decision: r.decision,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at,
  decisionReason: r.decision_reason,
  mapVersion: r.map_version,
});

/** Policy runs: proposals and "nothing worth deploying" decisions, with their approval. */
export class PolicyRunRepository {
  constructor(private readonly ds: DataSource) {}

  /** Records a run once per key (and its event); returns the stored run and whether it is new. */
  async record(run: NewPolicyRun, meta: EventMeta): Promise<{ run: PolicyRunRecord; created: boolean }> {
    return this.ds.transaction(async (em) => {
      const rows: Row[] = await em.query(
        `INSERT INTO policy_runs (deployment_id, run_key, phase, interval, policy, status, reason, base_map_version, figures, candidate, run_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (run_key) DO NOTHING RETURNING *`,
        [run.deploymentId, run.runKey, run.phase, run.interval, run.policy, run.status, run.reason, run.baseMapVersion, JSON.stringify(run.figures), run.candidate === null ? null : JSON.stringify(run.candidate), run.runMs],
      );
      if (rows.length === 0) return { run: (await this.byKey(run.runKey, em))!, created: false };
      const type = run.status === 'proposed' ? 'proposal.created' : run.status === 'nothing' ? 'policy-run.nothing-to-deploy' : 'policy-run.failed';
      await appendEvents(em, [
        { stream: `deployment:${run.deploymentId}`, type, payload: { runId: rows[0].id, interval: run.interval, policy: run.policy, reason: run.reason, baseMapVersion: run.baseMapVersion }, ...meta },
      ]);
      return { run: toRecord(rows[0]), created: true };
    });
  }

  async byKey(runKey: string, em: EntityManager = this.ds.manager): Promise<PolicyRunRecord | null> {
    const rows: Row[] = await em.query(`SELECT * FROM policy_runs WHERE run_key = $1`, [runKey]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async get(deploymentId: string, id: string, em: EntityManager = this.ds.manager, forUpdate = false): Promise<PolicyRunRecord | null> {
    const rows: Row[] = await em.query(`SELECT * FROM policy_runs WHERE deployment_id = $1 AND id = $2 ${forUpdate ? 'FOR UPDATE' : ''}`, [deploymentId, id]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async list(deploymentId: string, limit: number, status?: RunStatus): Promise<PolicyRunRecord[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT * FROM policy_runs WHERE deployment_id = $1 ${status ? 'AND status = $3' : ''} ORDER BY created_at DESC LIMIT $2`,
      status ? [deploymentId, limit, status] : [deploymentId, limit],
    );
    return rows.map(toRecord);
  }

  /** Marks a proposal decided inside the caller's transaction (which also made the map version). */
  async decide(em: EntityManager, id: string, decision: 'approved' | 'rejected', meta: EventMeta, mapVersion: number | null, deploymentId: string, extra: Record<string, unknown> = {}): Promise<void> {
    await em.query(
      `UPDATE policy_runs SET decision = $2, decided_by = $3, decided_at = now(), decision_reason = $4, map_version = $5 WHERE id = $1`,
      [id, decision, meta.actor, meta.reason, mapVersion],
    );
    await appendEvents(em, [{ stream: `deployment:${deploymentId}`, type: `proposal.${decision}`, payload: { runId: id, mapVersion, ...extra }, ...meta }]);
  }

  transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(work);
  }
}
