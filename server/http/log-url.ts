/**
 * A URL as it may be written to the log: a signed field link carries its token in the path (`/f/<token>`),
 * and nothing secret may be logged in clear, however the path was spelled (`/F/…`, `//f/…`, escaped) or
 * whatever query parameter a client put a credential in.
 */
const LINK_PATH = /^(\/+(?:f|%66|%46)\/+)[^/?#]*/i;
const SECRET_PARAM = /token|password|passwd|secret|key|session|auth/i;

/** a request target (`/f/…?x=1`) or an absolute URL (a Referer) */
export function logSafeUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url)?.[0];
  if (origin) return origin + (logSafeUrl(url.slice(origin.length)) ?? '');
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(LINK_PATH, '$1***');
  if (q < 0) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // a bad escape in a name: judged as it is
      }
      return eq >= 0 && SECRET_PARAM.test(decoded) ? `${name}=***` : pair;
    })
    .join('&');
  return `${path}?${query}`;
}

/** query or route parameters as they may be logged: the values of credential-like names hidden */
export function logSafeParams<T>(params: T): T {
  if (!params || typeof params !== 'object') return params;
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, SECRET_PARAM.test(k) ? '***' : v])) as T;
}
