import { lang, t } from './i18n';

/** An error as the API sends it: `{error: {code, message, message_zh, details}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly message_zh: string,
    readonly details?: any,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  /** the message in the interface language */
  text(): string {
    return lang() === 'zh' ? this.message_zh || this.message : this.message || this.message_zh;
  }
}

type Listener = (e: ApiError) => void;
let onAuthLost: Listener | undefined;
/** Called when the session is gone (401) or the password must be changed first. */
export function onAuthProblem(fn: Listener) {
  onAuthLost = fn;
}

/** `body`: JSON, or a Blob/File sent as it is (a CSV upload: its bytes, Content-Type its type or text/csv). */
export async function api<T>(method: string, path: string, body?: unknown, o: { signal?: AbortSignal; quiet?: boolean } = {}): Promise<T> {
  let res: Response;
  const raw = body instanceof Blob;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' }
        : { 'content-type': raw ? (body as Blob).type || 'text/csv' : 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : raw ? (body as Blob) : JSON.stringify(body),
      signal: o.signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', t('error.network'), t('error.network'));
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = json?.error;
    const err = new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? `HTTP ${res.status}`,
      e?.message_zh ?? t('error.http', { status: res.status }),
      e?.details,
      Number(res.headers.get('retry-after')) || undefined,
    );
    if (!o.quiet && (err.code === 'unauthenticated' || err.code === 'password_change_required')) onAuthLost?.(err);
    throw err;
  }
  return json as T;
}

export const get = <T>(path: string, o?: { signal?: AbortSignal; quiet?: boolean }) => api<T>('GET', path, undefined, o);
export const post = <T>(path: string, body?: unknown, o?: { quiet?: boolean }) => api<T>('POST', path, body ?? {}, o);

/** `?a=1&b=x,y` from an object; empty values are left out. */
export function qs(o: Record<string, string | number | string[] | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length) u.set(k, v.join(','));
    } else u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}
