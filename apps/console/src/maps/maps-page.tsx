import { allPages, ApiClient } from '@eplb/api-client';
import type { MapVersionResponse } from '@eplb/contracts';
import { useMemo, useState } from 'preact/hooks';
import { saveText } from '../shell/download';
import { formatBytes } from '../shell/format';
import { Link } from '../shell/link';
import { LiveBadge } from '../shell/live-badge';
import { ProblemView } from '../shell/problem-view';
import { Loading } from '../shell/loading';
import { useApi } from '../shell/use-api';
import { useLive } from '../shell/use-live';
import { ENGINE_FORMATS, fileOf } from './engine-formats';
import { slotGrid } from './slot-diff';

/** Map versions: their lineage (parent, inputs, who and why), one version's per-layer diff and slot grid, and its export per engine format. */
export function MapsPage({ api, deployment, version }: { api: ApiClient; deployment: string; version?: string }) {
  const live = useLive(api, deployment);
  const versions = useApi(
    () =>
      allPages(
        (before: number | undefined) => api.listMapVersions(deployment, { limit: 100, ...(before !== undefined ? { before } : {}) }),
        (p) => ({ items: p.items, next: p.next }),
      ),
    [api, deployment],
    live.ticks.audit,
  );
  return (
    <Loading loaded={versions} what="map versions">
      {(listed) => {
        const selected = version !== undefined ? Number(version) : listed[0]?.version;
        return (
          <section>
            <h1>
              Map versions <LiveBadge connected={live.connected} />
            </h1>
            <div class="table-wrap">
              <table class="grid" data-testid="map-versions">
                <thead>
                  <tr>
                    <th>version</th>
                    <th>parent</th>
                    <th>source</th>
                    <th>inputs</th>
                    <th>by</th>
                    <th>why</th>
                    <th>when</th>
                  </tr>
                </thead>
                <tbody>
                  {listed.map((v) => (
                    <tr key={v.version} data-version={v.version} class={v.version === selected ? 'selected' : ''}>
                      <td>
                        <Link to={{ page: 'maps', deployment, item: String(v.version) }} testId={`map-${v.version}`}>
                          v{v.version}
                        </Link>
                      </td>
                      <td>{v.parentVersion === null ? '—' : `v${v.parentVersion}`}</td>
                      <td>{v.source}</td>
                      <td>
                        <Origin deployment={deployment} v={v} />
                      </td>
                      <td>{v.createdBy}</td>
                      <td class="wrap">{v.reason}</td>
                      <td>{new Date(v.createdAt).toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {selected !== undefined ? <VersionDetail key={selected} api={api} deployment={deployment} version={selected} /> : null}
          </section>
        );
      }}
    </Loading>
  );
}

function Origin({ deployment, v }: { deployment: string; v: MapVersionResponse }) {
  const { runId, ...rest } = v.origin as { runId?: unknown } & Record<string, unknown>;
  const text = Object.entries(rest)
    .map(([k, x]) => `${k} ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
    .join(', ');
  return (
    <>
      {typeof runId === 'string' ? (
        <Link to={{ page: 'proposals', deployment, item: runId }}>run {runId.slice(0, 8)}</Link>
      ) : null}
      {typeof runId === 'string' && text ? ', ' : ''}
      {text || (typeof runId === 'string' ? '' : '—')}
    </>
  );
}

function VersionDetail({ api, deployment, version }: { api: ApiClient; deployment: string; version: number }) {
  const detail = useApi(async () => {
    const map = await api.getMapVersion(deployment, version);
    if (map.parentVersion === null) return { map, parent: null, diff: null };
    const [parent, diff] = await Promise.all([api.getMapVersion(deployment, map.parentVersion), api.diffMapVersions(deployment, version)]);
    return { map, parent, diff };
  }, [api, deployment, version]);
  const firstChanged = detail.state === 'ok' ? (detail.value.diff?.layers.find((l) => l.slotsChanged > 0)?.layer ?? 0) : 0;
  const [layer, setLayer] = useState<number | null>(null);
  const shown = layer ?? firstChanged;
  const grid = useMemo(
    () => (detail.state === 'ok' ? slotGrid(detail.value.map.physicalToLogical[shown], detail.value.parent?.physicalToLogical[shown] ?? null, detail.value.map.slotsPerRank) : null),
    [detail, shown],
  );
  return (
    <Loading loaded={detail} what={`version ${version}`}>
      {({ map, diff }) => {
        return (
          <section class="panel" data-testid="map-detail" data-version={version}>
            <h2>
              Version {version}
              {map.parentVersion !== null ? ` against its parent v${map.parentVersion}` : ' (no parent)'}
            </h2>
            <Export api={api} deployment={deployment} version={version} />
            {diff ? (
              <>
                <p data-testid="map-diff-totals">
                  {diff.totals.layersChanged} layers changed, {diff.totals.slotsChanged} slots, {diff.totals.transfers} transfers ({formatBytes(diff.totals.bytes)}), {diff.totals.localCopies} local copies.
                </p>
                <table class="grid compact" data-testid="map-diff">
                  <thead>
                    <tr>
                      <th>layer</th>
                      <th>slots changed</th>
                      <th>transfers</th>
                      <th>local copies</th>
                      <th>bytes</th>
                      <th>ranks touched</th>
                    </tr>
                  </thead>
                  <tbody>
                    {diff.layers
                      .filter((l) => l.slotsChanged > 0)
                      .map((l) => (
                        <tr key={l.layer} data-layer={l.layer} class={l.layer === shown ? 'selected' : ''}>
                          <td>
                            <button type="button" class="plain" onClick={() => setLayer(l.layer)}>
                              layer {l.layer}
                            </button>
                          </td>
                          <td>{l.slotsChanged}</td>
                          <td>{l.transfers}</td>
                          <td>{l.localCopies}</td>
                          <td>{formatBytes(l.bytes)}</td>
                          <td>{l.ranksTouched}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              </>
            ) : null}
            <h3>
              Layer{' '}
              <select data-testid="grid-layer" value={shown} onChange={(e) => setLayer(Number(e.currentTarget.value))}>
                {map.physicalToLogical.map((_, l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>{' '}
              slots: ranks × slots, the logical expert each serves{diff ? '; changed slots show the expert they served before' : ''}
            </h3>
            <table class="slots" data-testid="slot-grid">
              <tbody>
                {grid?.map((rank, r) => (
                  <tr key={r}>
                    <th>rank {r}</th>
                    {rank.map((c) => (
                      <td key={c.slot} class={c.before !== null ? 'changed' : ''} title={`slot ${c.slot}${c.before !== null ? `: was expert ${c.before}` : ''}`} data-changed={c.before !== null ? 'true' : undefined}>
                        {c.expert}
                        {c.before !== null ? <small> ←{c.before}</small> : null}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        );
      }}
    </Loading>
  );
}

function Export({ api, deployment, version }: { api: ApiClient; deployment: string; version: number }) {
  const [error, setError] = useState<unknown>(null);
  return (
    <p class="exports" data-testid="map-export">
      export as{' '}
      {ENGINE_FORMATS.map((f) => (
        <button
          key={f}
          type="button"
          class="plain"
          data-testid={`export-${f}`}
          onClick={() => {
            setError(null);
            api.exportMapVersion(deployment, version, f).then((text) => saveText(text, `${deployment}-v${version}.${f}.${fileOf(f).ext}`, fileOf(f).type), setError);
          }}
        >
          {f}
        </button>
      ))}
      {error ? <ProblemView error={error} /> : null}
    </p>
  );
}
