/** Container health probe: exits 0 when http://127.0.0.1:PORT/healthz answers 2xx within 2 s. */
const port = Number(process.argv[2]);
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
