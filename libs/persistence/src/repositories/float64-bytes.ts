/** Load vectors travel as bytea of little-endian float64 (see the heat-windows migration). */
export function toBytes(a: Float64Array): Buffer {
  const b = Buffer.allocUnsafe(a.length * 8);
  for (let i = 0; i < a.length; i++) b.writeDoubleLE(a[i], i * 8);
  return b;
}

export function fromBytes(b: Buffer): Float64Array {
  const out = new Float64Array(b.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = b.readDoubleLE(i * 8);
  return out;
}
