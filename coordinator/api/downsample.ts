/**
 * Min/max down-sampling of a metric series too long to send whole: the series is cut into
 * `maxPoints / 2` buckets of consecutive points and each bucket keeps its lowest and its
 * highest point, in series order. Spikes and dips survive (an average or every-k-th pick would
 * hide them), and the pass streams through the series chunk by chunk, so memory is bounded by
 * one chunk plus the output whatever the series length.
 */
export interface Indexed<P> { index: number; point: P }

export async function downsampleMinMax<P extends { value: number }>(
  count: number,
  maxPoints: number,
  /** Reads points start..stop (inclusive) of the series. */
  read: (start: number, stop: number) => Promise<P[]>,
  chunk = 20_000,
): Promise<Array<Indexed<P>>> {
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const out: Array<Indexed<P>> = [];
  let bucket = -1;
  let lo: Indexed<P> | undefined;
  let hi: Indexed<P> | undefined;
  const flush = () => {
    if (!lo || !hi) return;
    if (lo.index === hi.index) out.push(lo);
    else out.push(...(lo.index < hi.index ? [lo, hi] : [hi, lo]));
  };
  for (let start = 0; start < count; start += chunk) {
    const points = await read(start, Math.min(count, start + chunk) - 1);
    if (points.length === 0) break; // The series is shorter than counted (being deleted).
    for (let i = 0; i < points.length; i++) {
      const index = start + i;
      const b = Math.floor((index * buckets) / count);
      const p = { index, point: points[i]! };
      if (b !== bucket) {
        flush();
        bucket = b;
        lo = hi = p;
        continue;
      }
      if (p.point.value < lo!.point.value) lo = p;
      if (p.point.value > hi!.point.value) hi = p;
    }
  }
  flush();
  return out;
}
