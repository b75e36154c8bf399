import { DEMO } from './demo-cluster';
import { call } from './demo-http';
import { DemoMilestones, DemoSnapshot } from './demo-milestones';

/**
 * Polls the API for the demo deployment's heat, proposals and rollouts and prints each milestone
 * once (DemoMilestones). A failed poll (the API restarting) is tried again on the next tick.
 */
export class DemoWatch {
  private timer: NodeJS.Timeout | null = null;
  private readonly milestones = new DemoMilestones(Date.now());
  private polling = false;

  constructor(
    private readonly api: string,
    private readonly token: string,
    private readonly print: (line: string) => void,
    private readonly everyMs = 2000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    void this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const snapshot = await this.snapshot();
      for (const line of this.milestones.next(snapshot, Date.now())) this.print(line);
    } catch {
      /* the API is (re)starting: next tick */
    } finally {
      this.polling = false;
    }
  }

  private async snapshot(): Promise<DemoSnapshot> {
    const base = `${this.api}/v1/deployments/${DEMO.id}`;
    const from = new Date(Date.now() - 60_000).toISOString();
    const [episodes, runs, deployment, rollouts] = await Promise.all([
      call(GET, `${base}/heat/episodes?from=${encodeURIComponent(from)}&limit=100`, this.token),
      call(GET, `${base}/runs?status=proposed&limit=50`, this.token),
      call(GET, base, this.token),
      call(GET, `${base}/rollouts`, this.token),
    ]);
    for (const r of [episodes, runs, deployment, rollouts]) if (r.status !== 200) throw new Error(`API answered ${r.status}`);
    return {
      episodes: episodes.body.items,
      proposals: runs.body.items,
      latestMapVersion: deployment.body.mapVersion,
      rollouts: rollouts.body.items,
      committedVersions: rollouts.body.committedVersions,
    };
  }
}

const GET = 'GET';
