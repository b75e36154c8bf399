import type { ApiClient } from '@eplb/api-client';
import type { WhatIfRequest, WhatIfResponse } from '@eplb/contracts';
import { useState } from 'preact/hooks';
import { PhaseSelect, RangeSelect } from '../heat/range-select';
import { RangeId, rangeQuery, Phase } from '../heat/time-range';
import { formatDuration } from '../shell/format';
import { ProblemView } from '../shell/problem-view';
import { LayerFiguresTable } from './layer-figures-table';

/** Any policy on any stored range against any map version, recorded nowhere (analysts may ask too). */
export function WhatIfForm({ api, deployment, defaultPolicy, latestVersion }: { api: ApiClient; deployment: string; defaultPolicy: string; latestVersion: number }) {
  const [policy, setPolicy] = useState(defaultPolicy);
  const [range, setRange] = useState<RangeId>('1h');
  const [phase, setPhase] = useState<Phase>('decode');
  const [mapVersion, setMapVersion] = useState(String(latestVersion));
  const [maxTransfers, setMaxTransfers] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<WhatIfResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <section data-testid="what-if">
      <h2>What if…</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const body: WhatIfRequest = { policy, ...rangeQuery(range, phase), ...(mapVersion ? { mapVersion: Number(mapVersion) } : {}), ...(maxTransfers ? { maxTransfers: Number(maxTransfers) } : {}) };
          setBusy(true);
          setError(null);
          api.whatIf(deployment, body).then(
            (r) => {
              setResult(r);
              setBusy(false);
            },
            (err: unknown) => {
              setError(err);
              setResult(null);
              setBusy(false);
            },
          );
        }}
      >
        <label>
          policy <input data-testid="what-if-policy" value={policy} onInput={(e) => setPolicy(e.currentTarget.value)} size={14} />
        </label>
        <RangeSelect value={range} onChange={setRange} />
        <PhaseSelect value={phase} onChange={setPhase} />
        <label>
          map version <input type="number" min={1} value={mapVersion} onInput={(e) => setMapVersion(e.currentTarget.value)} style={{ width: '5em' }} />
        </label>
        <label>
          max transfers <input type="number" min={0} value={maxTransfers} placeholder="settings" onInput={(e) => setMaxTransfers(e.currentTarget.value)} style={{ width: '6em' }} />
        </label>
        <button type="submit" data-testid="what-if-run" disabled={busy}>
          {busy ? 'Planning…' : 'Run'}
        </button>
      </form>
      {error ? <ProblemView error={error} /> : null}
      {result ? (
        <div data-testid="what-if-result" data-status={result.status}>
          <p>
            <strong>{result.status}</strong>: {result.reason} — {result.policy} against map version {result.mapVersion}, episodes {result.episodes.from}–{result.episodes.to} ({result.episodes.count}), planned in{' '}
            {formatDuration(result.runMs)}; mean imbalance {result.currentMean.toFixed(3)} → {result.candidateMean.toFixed(3)}.
          </p>
          <LayerFiguresTable layers={result.layers} transfers={result.transfers} bytes={result.bytes} testId="what-if-layers" />
        </div>
      ) : null}
    </section>
  );
}
