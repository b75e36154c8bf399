/** A trend as a small line, no axes: its shape at a glance, the figures are in the next column. */
export function Sparkline({ values, width = 80, height = 24 }: { values: readonly number[]; width?: number; height?: number }) {
  if (values.length < 2) return <span class="muted">—</span>;
  const min = Math.min(...values);
  const span = Math.max(...values) - min || 1;
  const points = values.map((v, i) => `${((i / (values.length - 1)) * width).toFixed(1)},${(height - 1 - ((v - min) / span) * (height - 2)).toFixed(1)}`).join(' ');
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`imbalance from ${values[0].toFixed(3)} to ${values[values.length - 1].toFixed(3)}`}>
      <polyline points={points} fill="none" stroke="#0b3d6e" stroke-width="1.5" />
    </svg>
  );
}
