#!/usr/bin/env node
// Entry of the `tunehive` command. From a source checkout it runs the TypeScript sources
// through tsx; an image built with `npm run build` ships dist/ alone and runs that.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../cli/main.ts', import.meta.url);
if (existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
