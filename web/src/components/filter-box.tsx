/**
 * The filter box: MLflow's search grammar, parsed in the browser by the server's own parser
 * (shared/run-filter), so a syntax error shows at once under the box with its position.
 */
import { useState } from 'preact/hooks';
import { parseFilter } from '../../../shared/run-filter/parse-filter.js';
import type { Filter } from '../../../shared/run-filter/ast.js';

export function FilterBox(p: { onFilter(f: Filter | undefined, text: string): void; placeholder?: string }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<{ position: number; message: string } | null>(null);
  const apply = (t: string) => {
    const r = parseFilter(t);
    if (!r.ok) { setError(r.error); return; }
    setError(null);
    p.onFilter(r.filter, t);
  };
  return (
    <form class="filter-box" onSubmit={(e) => { e.preventDefault(); apply(text); }}>
      <label for="trial-filter" class="sr-only">filter</label>
      <input id="trial-filter" data-testid="filter" type="search" value={text} spellcheck={false} aria-invalid={!!error} aria-describedby="filter-error"
        placeholder={p.placeholder ?? "e.g. metrics.accuracy > 0.9 AND params.optimizer = 'adam'"}
        onInput={(e) => { const t = (e.currentTarget as HTMLInputElement).value; setText(t); apply(t); }} />
      {error && (
        <div id="filter-error" class="filter-error" role="alert" data-testid="filter-error">
          <code>{text}</code><br /><code>{' '.repeat(error.position)}^</code> at {error.position + 1}: {error.message}
        </div>
      )}
    </form>
  );
}
