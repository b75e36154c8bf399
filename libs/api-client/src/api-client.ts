import type {
  AgentKeyResponse,
  AgentsResponse,
  ApprovalResponse,
  AuditEventsResponse,
  CreateDeploymentRequest,
  DeploymentListResponse,
  DeploymentResponse,
  EpisodeListResponse,
  HeatFile,
  ImbalanceTrend,
  ImportMapRequest,
  IssuedToken,
  IssueTokenRequest,
  LayersHeatmap,
  LayerTimeHeatmap,
  LiveChange,
  LiveKind,
  RolloutTimeline,
  TokenList,
  TokenSummary,
  LoopStatusResponse,
  MapDiffResponse,
  MapVersionDetailResponse,
  MapVersionListResponse,
  MapVersionResponse,
  PolicyRunListResponse,
  PolicyRunResponse,
  PolicySettingsBody,
  RebalancingResponse,
  RejectRunResponse,
  RolloutAccepted,
  RolloutControlAccepted,
  RolloutControlAction,
  RolloutControlRequest,
  RolloutDetailWithOutcome,
  RolloutListWithOutcomesResponse,
  SettingsResponse,
  StartRolloutRequest,
  TopExpertsResponse,
  WhatIfRequest,
  WhatIfResponse,
  WhoAmIResponse,
} from '@eplb/contracts';
import { ApiProblem, ApiUnreachable } from './api-problem';
import { readEventStream } from './event-stream';

export interface ApiClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:3000` (a trailing slash is fine). */
  readonly baseUrl: string;
  /** A bearer token (operator, analyst or agent). */
  readonly token: string;
  /** Sent as `x-eplb-reason`, which the API records with every event a request causes. */
  readonly reason?: string;
  /** Abandon a request after this long (default: wait). */
  readonly timeoutMs?: number;
  /** The fetch to use (tests inject one; default: the global fetch). */
  readonly fetch?: typeof fetch;
}

/** How finely the heat reads sum episodes (`auto`: by the range's length). */
export type HeatResolution = 'auto' | 'episode' | 'minute' | 'hour';

/** Query of the heat reads: a phase and an ISO-8601 range [from, to) (default: the last hour). */
export type HeatRangeQuery = {
  phase?: 'prefill' | 'decode' | 'mixed';
  from?: string;
  to?: string;
};

type Query = Record<string, string | number | boolean | undefined>;

/**
 * Query of the audit log (`GET .../events`): comma lists of types (`exclude`: types left out) and
 * actors (`prefix*`), one correlation id, an ISO-8601 range [from, to); newest first by default,
 * `order: 'asc'` with `cursor` to follow what comes after an event id.
 */
export type EventsQuery = {
  type?: string;
  exclude?: string;
  actor?: string;
  correlation?: string;
  from?: string;
  to?: string;
  order?: 'desc' | 'asc';
  cursor?: string;
  limit?: number;
  payload?: boolean;
};

/**
 * The control plane's HTTP API, one method per endpoint, typed with the bodies declared in
 * contracts. Uses nothing but fetch, so the CLI, the simulator and a browser console share it.
 * An error answer throws ApiProblem (status, title, detail, type); no answer throws ApiUnreachable.
 */
export class ApiClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: ApiClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  }

  get baseUrl(): string {
    return this.base;
  }

  // --- deployments -------------------------------------------------------------------------

  listDeployments(q: { limit?: number; after?: string } = {}): Promise<DeploymentListResponse> {
    return this.json('GET', '/v1/deployments', { query: q });
  }

  getDeployment(id: string): Promise<DeploymentResponse> {
    return this.json('GET', `${dep(id)}`);
  }

  createDeployment(body: CreateDeploymentRequest): Promise<DeploymentResponse> {
    return this.json('POST', '/v1/deployments', { body });
  }

  // --- policy settings and runs ------------------------------------------------------------

  getSettings(id: string): Promise<SettingsResponse> {
    return this.json('GET', `${dep(id)}/settings`);
  }

  updateSettings(id: string, patch: Partial<PolicySettingsBody>): Promise<SettingsResponse> {
    return this.json('PATCH', `${dep(id)}/settings`, { body: patch });
  }

  listRuns(id: string, q: { status?: string; limit?: number } = {}): Promise<PolicyRunListResponse> {
    return this.json('GET', `${dep(id)}/runs`, { query: q });
  }

  getRun(id: string, run: string): Promise<PolicyRunResponse> {
    return this.json('GET', `${dep(id)}/runs/${seg(run)}`);
  }

  /** With `deploy`, the new version's rollout is requested in the same call (approve mode; `force` past nodes without a live agent). */
  approveRun(id: string, run: string, reason: string, opts: { deploy?: boolean; force?: boolean } = {}): Promise<ApprovalResponse> {
    return this.json('POST', `${dep(id)}/runs/${seg(run)}/approve`, { body: { reason, ...opts } });
  }

  rejectRun(id: string, run: string, reason: string): Promise<RejectRunResponse> {
    return this.json('POST', `${dep(id)}/runs/${seg(run)}/reject`, { body: { reason } });
  }

  whatIf(id: string, body: WhatIfRequest = {}): Promise<WhatIfResponse> {
    return this.json('POST', `${dep(id)}/what-if`, { body });
  }

  // --- map versions ------------------------------------------------------------------------

  listMapVersions(id: string, q: { limit?: number; before?: number } = {}): Promise<MapVersionListResponse> {
    return this.json('GET', `${dep(id)}/maps`, { query: q });
  }

  getMapVersion(id: string, version: number): Promise<MapVersionDetailResponse> {
    return this.json('GET', `${dep(id)}/maps/${version}`);
  }

  diffMapVersions(id: string, version: number, against?: number): Promise<MapDiffResponse> {
    return this.json('GET', `${dep(id)}/maps/${version}/diff`, { query: { against } });
  }

  /** The version as an engine's map file: its text (JSON, or YAML for trtllm). */
  exportMapVersion(id: string, version: number, format: string, firstMoeLayer?: number): Promise<string> {
    return this.text('GET', `${dep(id)}/maps/${version}`, { query: { format, firstMoeLayer } });
  }

  importMapVersion(id: string, body: ImportMapRequest): Promise<MapVersionResponse> {
    return this.json('POST', `${dep(id)}/maps`, { body });
  }

  // --- rollouts ----------------------------------------------------------------------------

  startRollout(id: string, body: StartRolloutRequest): Promise<RolloutAccepted> {
    return this.json('POST', `${dep(id)}/rollouts`, { body });
  }

  /** Each rollout with its measured outcome (null until measured). */
  listRollouts(id: string): Promise<RolloutListWithOutcomesResponse> {
    return this.json('GET', `${dep(id)}/rollouts`);
  }

  getRollout(id: string, rolloutId: string): Promise<RolloutDetailWithOutcome> {
    return this.json('GET', `${dep(id)}/rollouts/${seg(rolloutId)}`);
  }

  /** The rollout over time: per layer its prepare/commit/abort bars, batches and gate verdicts, bytes. */
  rolloutTimeline(id: string, rolloutId: string): Promise<RolloutTimeline> {
    return this.json('GET', `${dep(id)}/rollouts/${seg(rolloutId)}/timeline`);
  }

  controlRollout(id: string, rolloutId: string, action: RolloutControlAction, body: RolloutControlRequest): Promise<RolloutControlAccepted> {
    return this.json('POST', `${dep(id)}/rollouts/${seg(rolloutId)}/${action}`, { body });
  }

  agents(id: string): Promise<AgentsResponse> {
    return this.json('GET', `${dep(id)}/agents`);
  }

  /** Registers a node's agent public key (Ed25519, PEM or base64 DER): how an agent on Kafka only becomes trusted. */
  enrolAgentKey(id: string, node: number, publicKey: string): Promise<AgentKeyResponse> {
    return this.json('POST', `${dep(id)}/agents/${node}/keys`, { body: { publicKey } });
  }

  rebalancing(id: string): Promise<RebalancingResponse> {
    return this.json('GET', `${dep(id)}/rebalancing`);
  }

  /** The automatic loop's last decision and why, with the deployment's mode. */
  loopStatus(id: string): Promise<LoopStatusResponse> {
    return this.json('GET', `${dep(id)}/loop`);
  }

  // --- audit -------------------------------------------------------------------------------

  /** One page of the deployment's audit log (newest first unless `order: 'asc'`). */
  listEvents(id: string, q: EventsQuery = {}): Promise<AuditEventsResponse> {
    return this.json('GET', `${dep(id)}/events`, { query: q });
  }

  // --- tokens and heat ---------------------------------------------------------------------

  issueToken(body: IssueTokenRequest): Promise<IssuedToken> {
    return this.json('POST', '/v1/tokens', { body });
  }

  /** Every token (never the token itself), newest first. */
  listTokens(): Promise<TokenList> {
    return this.json('GET', '/v1/tokens');
  }

  /** Revokes a token: refused from then on. */
  revokeToken(tokenId: string, reason?: string): Promise<TokenSummary> {
    return this.json('POST', `/v1/tokens/${encodeURIComponent(tokenId)}/revoke`, { body: reason ? { reason } : {} });
  }

  /** Who this client's token is: name, role and scope. */
  me(): Promise<WhoAmIResponse> {
    return this.json('GET', '/v1/me');
  }

  /** Layers × experts: tokens routed to each logical expert, summed over the range. */
  heatmap(id: string, q: HeatRangeQuery & { resolution?: HeatResolution } = {}): Promise<LayersHeatmap> {
    return this.json('GET', `${dep(id)}/heat/heatmap`, { query: q });
  }

  /** The k hottest (layer, logical expert) pairs over the range, hottest first. */
  topExperts(id: string, q: HeatRangeQuery & { k?: number; layer?: number; resolution?: HeatResolution } = {}): Promise<TopExpertsResponse> {
    return this.json('GET', `${dep(id)}/heat/top`, { query: q });
  }

  /** Per time bucket and layer, the mean and max per-episode imbalance under the map in force. */
  imbalanceTrend(id: string, q: HeatRangeQuery & { resolution?: HeatResolution; limit?: number } = {}): Promise<ImbalanceTrend> {
    return this.json('GET', `${dep(id)}/heat/imbalance`, { query: q });
  }

  /** One layer × experts × time, a bucket per row (`next`: the `from` of the next page). */
  layerHeatmap(id: string, layer: number, q: HeatRangeQuery & { resolution?: HeatResolution; limit?: number } = {}): Promise<LayerTimeHeatmap> {
    return this.json('GET', `${dep(id)}/heat/heatmap`, { query: { ...q, layer } });
  }

  /** `layer_id,expert_id,count` summed over the range, as CSV text. */
  heatCsv(id: string, q: HeatRangeQuery & { resolution?: HeatResolution } = {}): Promise<string> {
    return this.text('GET', `${dep(id)}/heat/export.csv`, { query: q });
  }

  heatEpisodes(id: string, q: HeatRangeQuery & { afterEpisode?: number; limit?: number; loads?: boolean } = {}): Promise<EpisodeListResponse> {
    return this.json('GET', `${dep(id)}/heat/episodes`, { query: q });
  }

  /** A stored range as the heat file `eplb plan --input` reads. */
  heatFile(id: string, q: HeatRangeQuery & { episodes?: number } = {}): Promise<HeatFile> {
    return this.json('GET', `${dep(id)}/heat/export/heat-file`, { query: q });
  }

  // --- live changes ------------------------------------------------------------------------

  /**
   * The deployment's changes as they happen (`GET .../live`, server-sent events read with fetch so
   * the bearer header goes along): yields each change until the API ends the stream (after a while,
   * or when the token is revoked) or `signal` aborts. A refusal throws ApiProblem like any call.
   */
  async *live(id: string, q: { phase?: HeatRangeQuery['phase'] } = {}, signal?: AbortSignal): AsyncGenerator<LiveChange> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${dep(id)}/live${queryString(q)}`, {
        headers: { authorization: `Bearer ${this.options.token}`, accept: 'text/event-stream' },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) return;
      throw new ApiUnreachable(this.base, describeFetchError(err));
    }
    if (!res.ok || !res.body) throw ApiProblem.fromBody(res.status, res.statusText, await res.text());
    try {
      for await (const e of readEventStream(res.body)) {
        if (e.event === 'end') return;
        if ((LIVE_EVENTS as readonly string[]).includes(e.event)) yield JSON.parse(e.data) as LiveChange;
      }
    } catch (err) {
      if (!signal?.aborted) throw new ApiUnreachable(this.base, describeFetchError(err));
    }
  }

  // --- transport ---------------------------------------------------------------------------

  private async json<T>(method: string, path: string, req: { query?: Query; body?: unknown } = {}): Promise<T> {
    const text = await this.text(method, path, req);
    return JSON.parse(text) as T;
  }

  private async text(method: string, path: string, req: { query?: Query; body?: unknown } = {}): Promise<string> {
    const url = `${this.base}${path}${queryString(req.query)}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: 'application/json, application/problem+json, */*',
          ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.options.reason ? { 'x-eplb-reason': this.options.reason } : {}),
        },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        ...(this.options.timeoutMs !== undefined ? { signal: AbortSignal.timeout(this.options.timeoutMs) } : {}),
      });
    } catch (err) {
      throw new ApiUnreachable(this.base, describeFetchError(err));
    }
    const text = await res.text();
    if (!res.ok) throw ApiProblem.fromBody(res.status, res.statusText, text);
    return text;
  }
}

const LIVE_EVENTS: readonly LiveKind[] = ['rollout', 'heat', 'audit'];

const dep = (id: string): string => `/v1/deployments/${seg(id)}`;
const seg = (s: string): string => encodeURIComponent(s);

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** fetch's own message is "fetch failed"; the cause says why (ECONNREFUSED, a timeout). */
function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  const why = cause instanceof Error ? ((cause as Error & { code?: string }).code ?? cause.message) : undefined;
  return why && why !== err.message ? `${err.message}: ${why}` : err.message;
}
