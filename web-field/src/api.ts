import { lang } from './i18n';

/** An error as the API sends it: `{error: {code, message, message_zh, details}}`; status 0 = no network. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly message_zh: string,
    readonly details?: any,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  text(): string {
    return lang() === 'zh' ? this.message_zh || this.message : this.message || this.message_zh;
  }
  /** worth trying again later: no network, the server or a proxy failing, busy */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 408 || this.status === 429 || this.code === 'busy' || this.code === 'offline';
  }
}

let linkToken: string | null = null;
/** Requests made from /f/<token> carry the link (the Authorization header: never logged, never a cookie). */
export function useLinkToken(token: string | null) {
  linkToken = token;
}
export const authHeaders = (token = linkToken): Record<string, string> => (token ? { authorization: `FieldLink ${token}` } : {});

/**
 * GETs made before the service worker controlled the page go straight to the network and are not cached.
 * They are kept here and replayed through the worker once it takes over, so that the first visit alone is
 * enough to work offline (issue 16 item 11: the page used to need a second online visit).
 */
const beforeWorker = new Map<string, Record<string, string>>();
function rememberForWorker(path: string, headers: Record<string, string>) {
  if ('serviceWorker' in navigator && !navigator.serviceWorker.controller) beforeWorker.set(path, headers);
}
export async function replayThroughWorker(): Promise<void> {
  const list = [...beforeWorker];
  beforeWorker.clear();
  await Promise.all(list.map(([path, headers]) => fetch(path, { headers, credentials: 'same-origin' }).catch(() => undefined)));
}

export async function api<T>(method: string, path: string, o: { body?: unknown; form?: FormData; token?: string | null; signal?: AbortSignal } = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(o.token === undefined ? linkToken : o.token) };
  if (method === 'GET') rememberForWorker(path, headers);
  let body: BodyInit | undefined;
  if (o.form) body = o.form;
  else if (o.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'same-origin', signal: o.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server cannot be reached', '无法连接服务器');
  }
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = json?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `HTTP ${res.status}`, e?.message_zh ?? `请求失败（HTTP ${res.status}）`, e?.details);
  }
  return { status: res.status, body: json as T, headers: res.headers };
}

export const get = async <T>(path: string) => (await api<T>('GET', path)).body;

/** An image the API guards (session or link): fetched with the same credentials, shown from a blob URL. */
const blobs = new Map<string, Promise<string>>();
export function imageUrl(path: string): Promise<string> {
  let p = blobs.get(path);
  if (!p) {
    rememberForWorker(path, authHeaders());
    p = fetch(path, { headers: authHeaders(), credentials: 'same-origin' }).then(async (r) => {
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return URL.createObjectURL(await r.blob());
    });
    p.catch(() => blobs.delete(path));
    blobs.set(path, p);
  }
  return p;
}
