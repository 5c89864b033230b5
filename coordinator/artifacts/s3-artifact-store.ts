/**
 * Artifacts in S3 or an S3-compatible server (MinIO, Ceph, s3rver): `<prefix><key>` in one
 * bucket. Small objects are checked in memory and sent with one PutObject; larger ones go up as
 * a multipart upload of PART_BYTES parts (a few in flight at once), completed only once the last
 * byte matched, aborted otherwise: a 100 MB upload never sits in memory whole, and a mismatch is
 * never visible (S3 shows a multipart object only after CompleteMultipartUpload).
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectsCommand, GetObjectCommand,
  HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand, type CompletedPart,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { checkFolderPrefix, checkKey, notFound, verifiedBytes, type ArtifactStore, type ByteRange, type ObjectInfo, type PutExpectation } from './artifact-store.js';

/** S3's minimum part size is 5 MiB (all parts but the last). */
export const PART_BYTES = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending with '/'). */
  prefix?: string;
  /** An S3-compatible server's URL (path-style addressing is used then). */
  endpoint?: string;
  region?: string;
  /** Default: the SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle?: boolean;
}

/** `s3://bucket/some/prefix` -> bucket and prefix ('some/prefix/'). */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) return undefined;
  const rest = (m[2] ?? '').replace(/\/+$/, '');
  return { bucket: m[1]!, prefix: rest ? `${rest}/` : '' };
}

const isMissing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

export class S3ArtifactStore implements ArtifactStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(o: S3StoreOptions) {
    this.bucket = o.bucket;
    this.prefix = o.prefix ?? '';
    this.client = new S3Client({
      region: o.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle ?? o.endpoint !== undefined,
      ...(o.credentials ? { credentials: o.credentials } : {}),
      // Our own SHA-256 covers the bytes end to end; the SDK's extra CRC trailers are not
      // understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private name(key: string): string {
    return this.prefix + checkKey(key);
  }

  async put(key: string, body: AsyncIterable<Buffer>, expect: PutExpectation): Promise<{ size: number; sha256: string }> {
    const Key = this.name(key);
    let result: { size: number; sha256: string } | undefined;
    const bytes = verifiedBytes(body, expect, (r) => (result = r));
    if (expect.size <= PART_BYTES) {
      const parts: Buffer[] = [];
      for await (const c of bytes) parts.push(c);
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: Buffer.concat(parts), ContentLength: expect.size, Metadata: { sha256: result!.sha256 } }));
      return result!;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    const done: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const send = (PartNumber: number, Body: Buffer) => {
      const p = this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber, Body, ContentLength: Body.length }))
        .then((r) => { done.push({ PartNumber, ETag: r.ETag! }); }, (err: unknown) => { failure ??= err; })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    try {
      let part: Buffer[] = [];
      let partBytes = 0;
      let number = 0;
      for await (const c of bytes) {
        for (let off = 0; off < c.length;) {
          const take = Math.min(c.length - off, PART_BYTES - partBytes);
          part.push(c.subarray(off, off + take));
          partBytes += take;
          off += take;
          if (partBytes === PART_BYTES) {
            send(++number, Buffer.concat(part));
            part = [];
            partBytes = 0;
            // Memory stays at PARTS_IN_FLIGHT parts, whatever the object's size.
            while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
            if (failure) throw failure;
          }
        }
      }
      // The whole stream matched (verifiedBytes threw otherwise): only now may it complete.
      if (partBytes > 0) send(++number, Buffer.concat(part));
      await Promise.all(inFlight);
      if (failure) throw failure;
      done.sort((a, b) => a.PartNumber! - b.PartNumber!);
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: done } }));
      return result!;
    } catch (err) {
      await Promise.allSettled(inFlight);
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.name(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      return r.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw notFound(key);
      throw err;
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.name(key) }));
      return { size: r.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of r.Contents ?? []) yield { key: o.Key!.slice(this.prefix.length), size: o.Size ?? 0 };
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Pages of keys, each followed by a jump past everything below the last folder seen ('0' is
   * the character after '/'): a folder of a million objects costs no more requests than one of
   * one. Needs no delimiter support, which S3-compatible servers get wrong for nested keys
   * (s3rver does).
   */
  async folders(prefix: string): Promise<string[]> {
    checkFolderPrefix(prefix);
    const base = this.prefix + prefix;
    const out: string[] = [];
    let after: string | undefined;
    for (;;) {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ...(after ? { StartAfter: after } : {}) }));
      const contents = r.Contents ?? [];
      if (contents.length === 0) return out;
      for (const o of contents) {
        const rest = o.Key!.slice(base.length);
        const slash = rest.indexOf('/');
        after = o.Key!;
        if (slash < 0) continue;
        const folder = rest.slice(0, slash);
        if (out.at(-1) !== folder) out.push(folder);
        after = `${base}${folder}0`;
      }
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (prefix !== '') checkKey(prefix);
    let n = 0;
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      n += batch.length;
      batch = [];
    };
    // Listing `prefix` alone would also take "prefix2/...": only the object itself and its folder.
    if (prefix !== '' && (await this.stat(prefix))) batch.push(this.prefix + prefix);
    for await (const o of this.list(prefix === '' ? '' : `${prefix}/`)) {
      batch.push(this.prefix + o.key);
      if (batch.length === 1000) await flush();
    }
    await flush();
    return n;
  }

  close(): void {
    this.client.destroy();
  }
}
