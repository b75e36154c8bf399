import type { ApiClient, EventsQuery } from '@eplb/api-client';
import type { AuditEventResponse } from '@eplb/contracts';
import { useState } from 'preact/hooks';
import { LiveBadge } from '../shell/live-badge';
import { Loading } from '../shell/loading';
import { ProblemView } from '../shell/problem-view';
import { useApi } from '../shell/use-api';
import { useLive } from '../shell/use-live';

const PAGE = 100;

interface Filters {
  type: string;
  actor: string;
  correlation: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { type: '', actor: '', correlation: '', from: '', to: '' };

/** The filters as the audit API takes them (datetime-local inputs are local time; the API wants ISO-8601). */
function toQuery(f: Filters): EventsQuery {
  return {
    ...(f.type.trim() ? { type: f.type.trim() } : {}),
    ...(f.actor.trim() ? { actor: f.actor.trim() } : {}),
    ...(f.correlation.trim() ? { correlation: f.correlation.trim() } : {}),
    ...(f.from ? { from: new Date(f.from).toISOString() } : {}),
    ...(f.to ? { to: new Date(f.to).toISOString() } : {}),
    limit: PAGE,
  };
}

/** The deployment's event log, newest first, filtered by type, actor, correlation and time; new events appear as they are recorded. */
export function AuditPage({ api, deployment }: { api: ApiClient; deployment: string }) {
  const live = useLive(api, deployment);
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [older, setOlder] = useState<AuditEventResponse[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const first = useApi(
    async () => {
      const page = await api.listEvents(deployment, toQuery(filters));
      setOlder([]);
      setCursor(page.nextCursor);
      return page.items;
    },
    [api, deployment, filters],
    live.ticks.audit,
  );
  const field = (k: keyof Filters, label: string, props: Record<string, unknown> = {}) => (
    <label>
      {label} <input data-testid={`audit-${k}`} value={draft[k]} onInput={(e) => setDraft({ ...draft, [k]: e.currentTarget.value })} {...props} />
    </label>
  );
  return (
    <section>
      <h1>
        Audit log <LiveBadge connected={live.connected} />
      </h1>
      <form
        class="filters wrap"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        {field('type', 'type', { placeholder: 'rollout.*,map.created', size: 22 })}
        {field('actor', 'actor', { placeholder: 'operator:*', size: 14 })}
        {field('correlation', 'correlation', { size: 24 })}
        {field('from', 'from', { type: 'datetime-local' })}
        {field('to', 'to', { type: 'datetime-local' })}
        <button type="submit" data-testid="audit-filter">
          Filter
        </button>
      </form>
      <Loading loaded={first} what="events">
        {(newest) => (
          <>
            <EventTable
              events={[...newest, ...older]}
              onCorrelation={(c) => {
                const f = { ...EMPTY, correlation: c };
                setDraft(f);
                setFilters(f);
              }}
            />
            {cursor ? (
              <button
                type="button"
                data-testid="audit-more"
                onClick={() => {
                  setError(null);
                  api.listEvents(deployment, { ...toQuery(filters), cursor }).then((p) => {
                    setOlder((o) => [...o, ...p.items]);
                    setCursor(p.nextCursor);
                  }, setError);
                }}
              >
                Older events
              </button>
            ) : null}
            {error ? <ProblemView error={error} /> : null}
          </>
        )}
      </Loading>
    </section>
  );
}

function EventTable({ events, onCorrelation }: { events: AuditEventResponse[]; onCorrelation: (c: string) => void }) {
  if (events.length === 0) return <p class="muted" data-testid="audit-empty">No events match.</p>;
  return (
    <div class="table-wrap">
      <table class="grid" data-testid="audit">
        <thead>
          <tr>
            <th>when</th>
            <th>type</th>
            <th>actor</th>
            <th>reason</th>
            <th>correlation</th>
            <th>stream</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} data-event={e.id} data-type={e.type}>
              <td title={e.occurredAt}>{new Date(e.occurredAt).toLocaleString()}</td>
              <td>{e.type}</td>
              <td>{e.actor}</td>
              <td class="wrap">{e.reason}</td>
              <td>
                <button type="button" class="plain" title="this chain of custody only" onClick={() => onCorrelation(e.correlationId)}>
                  {e.correlationId.length > 28 ? `${e.correlationId.slice(0, 28)}…` : e.correlationId}
                </button>
              </td>
              <td>{e.stream}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
