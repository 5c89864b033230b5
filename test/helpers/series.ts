/** Every metric series of a trial, read page by page through the series routes (as a client would). */
type Api = (method: string, url: string, body?: unknown) => Promise<{ status: number; body: any }>;

export async function trialSeries(api: Api, trialId: string): Promise<Record<string, any[]>> {
  const list = await api('GET', `/api/v1/trials/${trialId}/metrics`);
  if (list.status !== 200) throw new Error(`GET metrics of ${trialId}: ${list.status} ${JSON.stringify(list.body)}`);
  const out: Record<string, any[]> = Object.create(null);
  for (const { name } of list.body.metrics as Array<{ name: string }>) {
    const points: any[] = [];
    let after: number | null = 0;
    for (let pages = 0; after !== null && pages < 10_000; pages++) {
      const page = await api('GET', `/api/v1/trials/${trialId}/metrics/${encodeURIComponent(name)}?after=${after}&limit=10000`);
      if (page.status !== 200) throw new Error(`GET series ${name} of ${trialId}: ${page.status} ${JSON.stringify(page.body)}`);
      points.push(...page.body.points);
      after = page.body.next;
    }
    out[name] = points;
  }
  return out;
}

/** A trial as GET returns it, with `metrics` replaced by its full series (for assertions on points). */
export async function trialWithSeries(api: Api, trialId: string): Promise<any> {
  const t = await api('GET', `/api/v1/trials/${trialId}`);
  return { ...t.body, metrics: await trialSeries(api, trialId) };
}
