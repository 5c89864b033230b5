/** MLflow REST calls as MLflow's Python client makes them (mlflow/utils/rest_utils.py): GET fields as query parameters, the rest a JSON body. */
import { call, type Reply } from './auth.js';

export function mlflow(base: string, token?: string | null) {
  const opts = token === undefined ? {} : { token };
  return {
    post: (path: string, body: unknown, prefix = '/api/2.0/mlflow'): Promise<Reply> => call(base, 'POST', `${prefix}/${path}`, { ...opts, body }),
    get: (path: string, query: Record<string, string | number | string[]> = {}, prefix = '/api/2.0/mlflow'): Promise<Reply> => {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) for (const x of Array.isArray(v) ? v : [v]) qs.append(k, String(x));
      return call(base, 'GET', `${prefix}/${path}${qs.size ? `?${qs}` : ''}`, opts);
    },
  };
}

/** An MLflow error reply: exactly `{error_code, message}` with the status MLflow gives the code. */
export function expectMlflowError(r: Reply, status: number, code: string): void {
  if (r.status !== status || r.body?.error_code !== code || Object.keys(r.body).sort().join() !== 'error_code,message' || typeof r.body.message !== 'string') {
    throw new Error(`expected ${status} ${code}, got ${r.status} ${r.text.slice(0, 300)}`);
  }
}
