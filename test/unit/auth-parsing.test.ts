/** How tokens are read from the Authorization header, token lifetimes, and the role order. */
import { describe, expect, it } from 'vitest';
import { tokenFromHeader } from '../../coordinator/auth/principal.js';
import { parseTtl } from '../../coordinator/auth/ttl.js';
import { atLeast, lower } from '../../coordinator/auth/roles.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const TOKEN = `thk_0123456789abcdef_${'a'.repeat(43)}`;

describe('tokenFromHeader', () => {
  it('reads Bearer and Basic (token as user name, as password, or next to a user name)', () => {
    expect(tokenFromHeader(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(tokenFromHeader(`bearer   ${TOKEN}  `)).toBe(TOKEN);
    expect(tokenFromHeader(`Basic ${b64(`${TOKEN}:`)}`)).toBe(TOKEN);
    expect(tokenFromHeader(`Basic ${b64(TOKEN)}`)).toBe(TOKEN);
    expect(tokenFromHeader(`Basic ${b64(`:${TOKEN}`)}`)).toBe(TOKEN);
    expect(tokenFromHeader(`Basic ${b64(`alice:${TOKEN}`)}`)).toBe(TOKEN);
    expect(tokenFromHeader(`Basic ${b64(`${TOKEN}:x-oauth-basic`)}`)).toBe(TOKEN);
    expect(tokenFromHeader(`Basic ${b64('user:operator-secret')}`)).toBe('operator-secret');
  });

  it('has nothing for absent, empty, unknown-scheme or oversized headers', () => {
    for (const h of [undefined, '', 'Bearer', 'Bearer ', `Token ${TOKEN}`, `Basic ${b64(':')}`, `Bearer ${'x'.repeat(5000)}`]) expect(tokenFromHeader(h), String(h)).toBeUndefined();
  });
});

describe('parseTtl', () => {
  it('takes s/m/h/d and refuses the rest with a reason', () => {
    expect(parseTtl('24h')).toBe(86_400_000);
    expect(parseTtl('90s')).toBe(90_000);
    expect(parseTtl('30d')).toBe(30 * 86_400_000);
    for (const bad of ['', '24', '1w', '-1h', '0s', '1.5h', '99999d']) expect(typeof parseTtl(bad), bad).toBe('string');
  });
});

describe('roles', () => {
  it('orders viewer < editor < owner < admin', () => {
    expect(atLeast('owner', 'editor')).toBe(true);
    expect(atLeast('viewer', 'editor')).toBe(false);
    expect(atLeast(undefined, 'viewer')).toBe(false);
    expect(atLeast('admin', 'owner')).toBe(true);
    expect(lower('owner', 'viewer')).toBe('viewer');
    expect(lower('editor', 'admin')).toBe('editor');
  });
});
