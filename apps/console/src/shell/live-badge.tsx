/** Whether a page's live stream is connected: its figures update as the API records changes. */
export function LiveBadge({ connected }: { connected: boolean }) {
  return (
    <span class={`live ${connected ? 'on' : 'off'}`} data-testid="live" data-connected={String(connected)} title={connected ? 'updates as the API records changes' : 'reconnecting to the live stream'}>
      {connected ? 'live' : 'offline'}
    </span>
  );
}
