/**
 * A git remote URL as it may be recorded: without the credentials a URL can carry
 * (`https://user:TOKEN@host/...`, `https://TOKEN@host/...`). scp-like remotes
 * (`git@github.com:org/repo.git`) name an ssh user, not a secret, and stay as they are.
 */
import { scrubSecrets } from '../../shared/logger.js';

export function remoteWithoutCredentials(raw: string): string {
  const url = raw.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return scrubSecrets(url);
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    // Not parseable as a URL: drop whatever sits between the scheme and an '@'.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
  }
}
