import { useState } from 'preact/hooks';
import { ProblemView } from '../shell/problem-view';
import { Session, signIn } from './session';

/** The token typed once: checked with the API, then kept for this tab. */
export function SignInPage({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <section class="sign-in">
      <h1>Sign in</h1>
      <p class="muted">An operator or analyst API token (issued with POST /v1/tokens). It is kept for this tab only.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          signIn(token.trim()).then(onSignedIn, (err: unknown) => {
            setError(err);
            setBusy(false);
          });
        }}
      >
        <input
          type="password"
          name="token"
          data-testid="token"
          autocomplete="off"
          placeholder="API token"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
        />
        <button type="submit" data-testid="sign-in" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
      {error ? <ProblemView error={error} /> : null}
    </section>
  );
}
