import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ProblemView } from './problem-view';

/**
 * A button that changes the plane, with the reason the API records beside it (every such route
 * takes one). Shown to operators only; the API refuses anyone else anyway. Its problem, if the API
 * answers one, appears under it.
 */
export function ReasonedAction({
  label,
  testId,
  run,
  onDone,
  children,
  danger = false,
}: {
  label: string;
  testId: string;
  run: (reason: string) => Promise<unknown>;
  onDone?: () => void;
  children?: ComponentChildren;
  danger?: boolean;
}) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      class="action"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        run(reason.trim()).then(
          () => {
            setBusy(false);
            setReason('');
            onDone?.();
          },
          (err: unknown) => {
            setBusy(false);
            setError(err);
          },
        );
      }}
    >
      {children}
      <input data-testid={`${testId}-reason`} placeholder="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} required />
      <button type="submit" class={danger ? 'danger' : ''} data-testid={testId} disabled={busy || reason.trim() === ''}>
        {label}
      </button>
      {error ? <ProblemView error={error} /> : null}
    </form>
  );
}
