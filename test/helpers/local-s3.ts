/**
 * A real S3-compatible server (s3rver, on 127.0.0.1 port 0, objects in a temp folder) for the
 * artifact and checkpoint store tests and `npm run bench:artifacts`. Stopped and removed by close().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error s3rver ships no types; its API here is `new S3rver(options).run()` / `.close()`.
import S3rver from 's3rver';

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

export async function startLocalS3(bucket = 'tunehive'): Promise<LocalS3> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'tunehive-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const addr = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    bucket,
    // s3rver's built-in account.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
