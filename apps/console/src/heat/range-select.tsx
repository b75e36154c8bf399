import { Phase, PHASES, RangeId, RANGES } from './time-range';

/** The heat ranges the console offers (RANGES), as a labelled `<select>`. */
export function RangeSelect({ value, onChange, testId }: { value: RangeId; onChange: (range: RangeId) => void; testId?: string }) {
  return (
    <label>
      range{' '}
      <select data-testid={testId} value={value} onChange={(e) => onChange(e.currentTarget.value as RangeId)}>
        {RANGES.map((r) => (
          <option key={r.id} value={r.id}>
            {r.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The serving phases heat is kept for, as a labelled `<select>`. */
export function PhaseSelect({ value, onChange, testId }: { value: Phase; onChange: (phase: Phase) => void; testId?: string }) {
  return (
    <label>
      phase{' '}
      <select data-testid={testId} value={value} onChange={(e) => onChange(e.currentTarget.value as Phase)}>
        {PHASES.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
    </label>
  );
}
