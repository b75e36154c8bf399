import { Injectable, MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { LiveChange } from '@eplb/contracts';
import { ApiTokenRepository, AuditLogRepository, DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { auditChanges } from './live-changes';

/** How often a stream looks for news: one indexed read of the audit log and one of the newest episode. */
const POLL_MS = 1_000;
/** A stream re-checks its token this often and ends once it is revoked or expired. */
const RECHECK_TOKEN_MS = 15_000;
/** A stream ends after this long; the console reconnects, authenticating again. */
const MAX_STREAM_MS = 10 * 60_000;

/**
 * A deployment's changes as server-sent events. Authenticated like every route, by the bearer
 * header (the console reads the stream with fetch, so the token never appears in a URL, a log or
 * a Referer); and because a stream outlives the request that authenticated it, the token is
 * checked again while it runs and the stream is bounded in time.
 */
@Injectable()
export class DeploymentLiveService {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly audit: AuditLogRepository,
    private readonly windows: HeatWindowRepository,
    private readonly tokens: ApiTokenRepository,
  ) {}

  async open(dep: string, phase: string, token: string): Promise<Observable<MessageEvent>> {
    if (!(await this.deployments.find(dep))) throw notFoundProblem(`deployment ${dep} does not exist`);
    // where the stream starts: the first messages say so, and a console re-reads on anything newer
    const [newest] = await this.audit.deploymentEvents(dep, { order: 'desc', limit: 1 });
    const [episode] = await this.windows.newestMissingRanks(dep, phase, 1);
    let cursor = newest?.id ?? '0';
    let lastEpisode = episode?.episode ?? -1;
    const message = (c: LiveChange): MessageEvent => ({ type: c.kind, data: c });

    return new Observable<MessageEvent>((subscriber) => {
      const openedAt = Date.now();
      let checkedAt = openedAt;
      let timer: NodeJS.Timeout | undefined;
      let closed = false;
      subscriber.next(message({ kind: 'rollout', cursor, types: [] }));
      subscriber.next(message({ kind: 'audit', cursor, types: [] }));
      subscriber.next(message({ kind: 'heat', cursor: String(lastEpisode), types: [] }));
      const poll = async (): Promise<void> => {
        const now = Date.now();
        if (now - openedAt >= MAX_STREAM_MS) return subscriber.complete();
        if (now - checkedAt >= RECHECK_TOKEN_MS) {
          checkedAt = now;
          if (!(await this.tokens.findActive(token))) {
            subscriber.next({ type: 'end', data: { reason: 'token revoked or expired' } });
            return subscriber.complete();
          }
        }
        const events = await this.audit.deploymentEvents(dep, { order: 'asc', cursor, limit: 500 });
        if (events.length) cursor = events[events.length - 1].id;
        for (const c of auditChanges(events)) subscriber.next(message(c));
        const [e] = await this.windows.newestMissingRanks(dep, phase, 1);
        if (e && e.episode !== lastEpisode) {
          lastEpisode = e.episode;
          subscriber.next(message({ kind: 'heat', cursor: String(e.episode), types: ['episode.stored'] }));
        }
      };
      const schedule = (): void => {
        if (closed) return;
        timer = setTimeout(() => {
          poll().then(schedule, (err: unknown) => subscriber.error(err));
        }, POLL_MS);
      };
      schedule();
      return () => {
        closed = true;
        clearTimeout(timer);
      };
    });
  }
}
