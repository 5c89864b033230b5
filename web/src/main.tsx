/** The app shell: who is signed in, the navigation, the page for the current path. */
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { location, match, navigate } from './router.js';
import { useSignal } from './signal.js';
import { loadMe, logout, me, offerLinkToken } from './auth.js';
import { LoginPage } from './pages/login.js';
import { HomePage } from './pages/home.js';
import { StudyPage } from './pages/study.js';
import { RunPage } from './pages/run.js';
import { WorkersPage } from './pages/workers.js';
import { ModelPage, ModelsPage } from './pages/models.js';
import { ExperimentPage } from './pages/experiment.js';

/** Only a path of this app: never another origin (`//host`) from a crafted link. */
const safeNext = (n: string | null) => (n && /^\/(?![/\\])/.test(n) ? n : '/');

function App() {
  const loc = useSignal(location);
  const who = useSignal(me);
  const m = match(loc);
  useEffect(() => {
    // A one-time login link (the demo prints one): the token is in the fragment, never sent in a URL.
    const h = new URLSearchParams(window.location.hash.slice(1));
    const token = h.get('token');
    if (token) {
      // Off the address bar at once; the login form is filled with it and waits for a click.
      history.replaceState(null, '', `/login?next=${encodeURIComponent(safeNext(h.get('next')))}`);
      location.set(window.location.pathname + window.location.search);
      offerLinkToken(token);
    }
    void loadMe();
  }, []);
  useEffect(() => {
    if (who === null && m.name !== 'login') navigate(`/login?next=${encodeURIComponent(loc)}`, true);
    // Signed in on the login page: on to where the visitor was going.
    if (who && m.name === 'login') navigate(safeNext(new URLSearchParams(window.location.search).get('next')), true);
  }, [who, m.name]);
  if (who === undefined) return <p class="muted">loading…</p>;
  return (
    <>
      <nav class="top" aria-label="main">
        <a href="/" class="brand">Tunehive</a>
        {who && <><a href="/">Projects</a><a href="/workers">Workers</a><a href="/models">Models</a></>}
        <span class="spacer" />
        {who && <span class="muted" data-testid="whoami">{who.owner}{who.admin ? ' (admin)' : ''}</span>}
        {who && who.via === 'cookie' && <button type="button" onClick={() => void logout()}>Sign out</button>}
      </nav>
      {m.name === 'login' || !who ? <LoginPage />
        : m.name === 'home' ? <HomePage />
        : m.name === 'study' ? <StudyPage key={m.params.id} id={m.params.id!} />
        : m.name === 'run' ? <RunPage key={m.params.id} id={m.params.id!} />
        : m.name === 'experiment' ? <ExperimentPage key={m.params.id} id={m.params.id!} />
        : m.name === 'workers' ? <WorkersPage />
        : m.name === 'models' ? <ModelsPage />
        : m.name === 'model' ? <ModelPage key={m.params.name} name={m.params.name!} />
        : <main><h1>Not found</h1><p><a href="/">back to the projects</a></p></main>}
    </>
  );
}

// Same-origin links navigate inside the app (downloads and API links excepted).
document.addEventListener('click', (e) => {
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.hasAttribute('download') || a.target) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/docs')) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

render(<App />, document.getElementById('app')!);
