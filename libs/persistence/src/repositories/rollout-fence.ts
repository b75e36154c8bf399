import type { EntityManager } from 'typeorm';

/**
 * Raises the deployment's rollout fence to `generation` inside the caller's transaction; false
 * when a writer with a newer generation (a later holder of the rollout lock) got there first —
 * the caller must then abort the transaction and stop driving the deployment.
 */
export async function raiseRolloutFence(em: EntityManager, deployment: string, generation: number, instance: string): Promise<boolean> {
  const rows: unknown[] = await em.query(
    `INSERT INTO rollout_fences (deployment_id, generation, instance) VALUES ($1, $2, $3)
     ON CONFLICT (deployment_id) DO UPDATE SET generation = EXCLUDED.generation, instance = EXCLUDED.instance, written_at = now()
       WHERE rollout_fences.generation <= EXCLUDED.generation
     RETURNING generation`,
    [deployment, generation, instance],
  );
  return rows.length === 1;
}
