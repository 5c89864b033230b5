/** The login form: an API token becomes an HttpOnly session cookie (POST /api/v1/session). */
import { useState } from 'preact/hooks';
import { login, takeLinkToken } from '../auth.js';

export function LoginPage() {
  const [fromLink] = useState(() => takeLinkToken());
  const [token, setToken] = useState(fromLink ?? '');
  const [error, setError] = useState<string>();
  return (
    <main class="login">
      <h1>Sign in to Tunehive</h1>
      <form onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try { await login(token.trim()); } catch (err) { setError((err as Error).message); }
      }}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)} required />
        {fromLink && <p class="muted" data-testid="link-token">A sign-in link filled in the token: press Sign in to continue as its owner.</p>}
        <button type="submit">Sign in</button>
        {error && <p class="error" role="alert">{error}</p>}
        <p class="muted">Create one with <code>tunehive token create</code>; the token is kept in an HttpOnly cookie for this browser session, never in page storage.</p>
      </form>
    </main>
  );
}
