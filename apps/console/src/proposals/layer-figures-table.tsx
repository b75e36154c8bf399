import { formatBytes } from '../shell/format';
import type { LayerFigure } from './run-figures';

/** Per layer: imbalance now vs projected, the experts moved; chosen layers are the ones a rollout changes. */
export function LayerFiguresTable({ layers, transfers, bytes, testId }: { layers: readonly LayerFigure[]; transfers: number; bytes: number; testId: string }) {
  return (
    <>
      <p>
        <strong>{transfers}</strong> expert transfers, <strong>{formatBytes(bytes)}</strong> to move, on {layers.filter((l) => l.chosen).length} of {layers.length} layers.
      </p>
      <table class="grid" data-testid={testId}>
        <thead>
          <tr>
            <th>layer</th>
            <th>imbalance now</th>
            <th>projected</th>
            <th>gain</th>
            <th>transfers</th>
            <th>changed</th>
          </tr>
        </thead>
        <tbody>
          {layers.map((l) => (
            <tr key={l.layer} data-layer={l.layer} class={l.chosen ? 'chosen' : ''}>
              <td>{l.layer}</td>
              <td>{l.current.toFixed(3)}</td>
              <td>{l.candidate.toFixed(3)}</td>
              <td>{(l.current - l.candidate).toFixed(3)}</td>
              <td>{l.transfers}</td>
              <td>{l.chosen ? 'yes' : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
