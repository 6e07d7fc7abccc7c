/**
 * Fuzz of the HTTP API, driven by its own OpenAPI document (GET /api/openapi.json): every operation and
 * every parameter it declares, so a new route is covered the day it is registered. Values come from the
 * declared JSON Schema (so requests get past validation and reach the database) mixed with hostile ones:
 * NUL characters, integers beyond PostgreSQL's int4/int8, year 0000, long strings, wrong JSON types, bad
 * percent-escapes in the path, unknown charsets and content encodings, corrupt gzip, malformed multipart.
 * Callers: an admin (bearer token, a fresh session per request so a fuzzed logout cannot end the run),
 * anonymous, and a signed field link.
 *
 * What must hold for every response:
 *   - never a 5xx (503 aside: a state such as the field page not being built): bad input is the caller's problem, answered with a 4xx;
 *   - every error (4xx/5xx) with a JSON content type is `{error:{code,message,message_zh,details}}`, the
 *     Chinese message in Chinese.
 *
 * fast-check generates the requests from a fixed seed (per operation, derived from its method and path, so
 * adding a route does not reshuffle the others) and a bounded count. All requests are sent and every
 * violation is listed, each with the exact request to replay it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import { fieldEnv, type FieldEnv } from './field-helpers';
import { createSession } from '../../server/auth/session';
import { createLink } from '../../server/field/links';
import { REGION } from './review-helpers';

/** requests per operation (per database): ~60 operations × this, ~25 s on an idle machine (FUZZ_RUNS=60 for a deeper run) */
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const SEED = Number(process.env.FUZZ_SEED ?? 20261205);

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
};
interface Parameter { name: string; in: 'path' | 'query'; required?: boolean; schema: Schema }
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  'x-roles': string[] | 'public';
}

// ---- hostile values ----

const HOSTILE_TEXT = [
  '\u0000', 'a\u0000b', '%00', ' ', '', 'x'.repeat(5000), '中'.repeat(2000), '-1', '0', '-0', '1.5', '2147483648', '-2147483649',
  '4294967296', '9223372036854775808', '99999999999999999999999', '1e309', '-1e309', 'NaN', 'Infinity', '0x10', '1e3',
  '0000-01-01', '0000-01-01T00:00:00Z', '9999-12-31', '2020-02-30', '+275760-09-13T00:00:00Z', '2020-06-01T25:61:00Z',
  "' OR 1=1 --", '<script>alert(1)</script>', '%', '%zz', '\uD800', '\uFEFF', 'true', 'null', '[]', '{}', ',,,', '1,2,3,4',
  '-180,-90,180,90', '1,1,0,0', 'nan,nan,nan,nan', '../../etc/passwd', '😀', 'ＡＤＭＩＮ', 'a'.repeat(101), 'survey', '吉安村',
];
const HOSTILE_JSON: unknown[] = [
  ...HOSTILE_TEXT, 0, -1, -0, 0.5, 1.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 53 + 2, 1e308, -1e308, 1e-300, 1e-9,
  null, true, false, [], {}, [null], [2 ** 31], ['\u0000'], { '\u0000': 1 }, { a: { b: { c: [] } } },
  JSON.parse('['.repeat(200) + ']'.repeat(200)),
];
/** written into the path as they are: not valid percent-encoding, or tricks on the path itself */
const RAW_PATH_SEGMENTS = ['%', '%zz', '%E0%A4%A', '%C0%AF', '%00', '..', '.', '%2e%2e', '%2F', 'a%2Fb', '%5C', '%FF%FE', '%F0%9F%98'];

const hostileText = fc.constantFrom(...HOSTILE_TEXT);
const hostileJson = fc.constantFrom(...HOSTILE_JSON);

const types = (s: Schema) => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

/** A value the schema describes (mostly plausible, sometimes at or past its edges). */
function valid(s: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const branches = s.anyOf ?? s.oneOf;
  if (branches?.length) return fc.oneof(...branches.map((b) => valid(b, depth + 1)));
  if (s.allOf?.length) return valid(Object.assign({}, ...s.allOf), depth + 1);
  const t = types(s);
  const arbs: fc.Arbitrary<unknown>[] = [];
  if (t.includes('null')) arbs.push(fc.constant(null));
  if (t.includes('boolean')) arbs.push(fc.boolean());
  if (t.includes('integer')) {
    const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -5);
    const hi = Math.min(s.maximum ?? 50, lo + 50);
    arbs.push(fc.integer({ min: Math.ceil(lo), max: Math.max(Math.ceil(lo), Math.floor(hi)) }));
    arbs.push(fc.constantFrom(1, 2, 3, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, -(2 ** 31)));
  }
  if (t.includes('number')) {
    arbs.push(fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 1000, noNaN: true }));
    arbs.push(fc.constantFrom(1e-9, 1e-6, 0.001, 2 ** 31));
  }
  if (t.includes('string')) {
    if (s.format === 'uuid') arbs.push(fc.uuid());
    else if (s.format === 'date-time') {
      arbs.push(fc.constantFrom('2020-06-01T08:00:00Z', '2020-06-01T08:00:00+08:00', '0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z',
        '9999-12-31T23:59:59Z', '2020-02-30T00:00:00Z'));
    } else if (s.pattern?.includes('\\d{4}-\\d{2}-\\d{2}')) {
      arbs.push(fc.constantFrom('2020-06-01', '2021-01-04', '0000-01-01', '2020-02-30', '1999-12-31', '2100-01-01'));
    } else if (s.pattern) {
      let m: fc.Arbitrary<string> | undefined;
      try {
        m = fc.stringMatching(new RegExp(s.pattern, 'u'));
      } catch {
        m = undefined;
      }
      arbs.push(m ?? fc.string({ maxLength: 12 }));
    } else {
      arbs.push(fc.string({ maxLength: 12 }), fc.constantFrom('吉安村', '红旗村', 'survey', 'village', 'parcel', 'admin'));
    }
  }
  if (t.includes('array') && depth < 4) arbs.push(fc.array(valid(s.items ?? {}, depth + 1), { minLength: 0, maxLength: 4 }));
  if ((t.includes('object') || s.properties) && depth < 4) arbs.push(object(s, depth));
  return arbs.length ? fc.oneof(...arbs) : fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null));
}

/** A value of the schema, or (one time in four) something hostile in its place. */
const value = (s: Schema, depth = 0): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 3, arbitrary: valid(s, depth) }, { weight: 1, arbitrary: hostileJson });

function object(s: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, p]) => [k, value(p, depth + 1)]));
  return fc.record(props, { requiredKeys: (s.required ?? []).filter((k) => k in props) }) as fc.Arbitrary<Record<string, unknown>>;
}

/** encodeURIComponent, except that a lone surrogate becomes the (invalid UTF-8) bytes it would have been */
const enc = (s: string): string => {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...s].map((c) => (/[\ud800-\udfff]/.test(c) ? '%ED%A0%80' : encodeURIComponent(c))).join('');
  }
};

/** query and multipart values travel as text */
const asText = (v: unknown): string =>
  typeof v === 'string' ? v : Array.isArray(v) ? v.map(asText).join(',') : v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);

// ---- requests ----

type Who = 'admin' | 'anonymous' | 'link';
type BodyVariant = 'json' | 'wrong-type' | 'charset' | 'encoding' | 'gzip-corrupt' | 'gzip' | 'invalid-json' | 'text' | 'none'
  | 'form' | 'no-boundary' | 'truncated' | 'garbage' | 'json-instead';
interface FuzzRequest {
  method: string;
  /** the path with its parameters filled in, already encoded (or deliberately mis-encoded) */
  path: string;
  query: [string, string][];
  who: Who;
  variant: BodyVariant;
  body?: unknown;
  fileBytes?: 'photo' | 'junk' | 'none';
}

const JSON_VARIANTS: BodyVariant[] = ['json', 'json', 'json', 'json', 'wrong-type', 'charset', 'encoding', 'gzip-corrupt', 'gzip', 'invalid-json', 'text', 'none'];
const FORM_VARIANTS: BodyVariant[] = ['form', 'form', 'form', 'form', 'no-boundary', 'truncated', 'garbage', 'json-instead', 'none'];

function requestArb(method: string, template: string, op: Operation): fc.Arbitrary<FuzzRequest> {
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const segment = (p: Parameter) =>
    fc.oneof(
      { weight: 3, arbitrary: value(p.schema).map((v) => enc(asText(v))) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_PATH_SEGMENTS) },
    );
  const pathArb = fc.tuple(...pathParams.map(segment)).map((vals) => {
    let out = template;
    pathParams.forEach((p, i) => (out = out.replace(`{${p.name}}`, vals[i])));
    return out;
  });
  const queryArb = fc
    .subarray(queryParams)
    .chain((ps) => fc.tuple(...ps.map((p) => fc.tuple(fc.constant(p.name), fc.oneof(value(p.schema).map(asText), hostileText)))))
    .chain((pairs) => fc.oneof(
      { weight: 5, arbitrary: fc.constant(pairs as [string, string][]) },
      // a parameter twice (?limit=1&limit=2 arrives as an array), or one nobody declared
      { weight: 1, arbitrary: fc.constant([...pairs, ...pairs] as [string, string][]) },
      { weight: 1, arbitrary: hostileText.map((v) => [...pairs, ['\u0000', v]] as [string, string][]) },
    ));
  const content = op.requestBody?.content ?? {};
  const multipart = content['multipart/form-data']?.schema;
  const json = content['application/json']?.schema;
  const bodySchema = multipart ?? json;
  const bodyArb: fc.Arbitrary<unknown> = bodySchema ? fc.oneof({ weight: 4, arbitrary: value(bodySchema) }, { weight: 1, arbitrary: hostileJson }) : fc.constant(undefined);
  const variants = multipart ? FORM_VARIANTS : method === 'get' || method === 'delete' ? (['none'] as BodyVariant[]) : JSON_VARIANTS;
  return fc.record({
    method: fc.constant(method.toUpperCase()),
    path: pathArb,
    query: queryArb,
    who: fc.constantFrom<Who>('admin', 'admin', 'admin', 'admin', 'anonymous', 'link'),
    variant: fc.constantFrom(...variants),
    body: bodyArb,
    fileBytes: fc.constantFrom<'photo' | 'junk' | 'none'>('photo', 'junk', 'none'),
  });
}

const PHOTO = readFileSync('test/fixtures/photos/gps.jpg');

/** The body and headers of a request variant. */
function encodeBody(r: FuzzRequest): { body?: BodyInit; headers: Record<string, string> } {
  const jsonText = JSON.stringify(r.body ?? {});
  switch (r.variant) {
    case 'none': return { headers: {} };
    case 'json': return { body: jsonText, headers: { 'content-type': 'application/json' } };
    case 'wrong-type': return { body: JSON.stringify([r.body]), headers: { 'content-type': 'application/json' } };
    case 'charset': return { body: jsonText, headers: { 'content-type': 'application/json; charset=x-klingon' } };
    case 'encoding': return { body: jsonText, headers: { 'content-type': 'application/json', 'content-encoding': 'foo' } };
    case 'gzip': return { body: gzipSync(jsonText), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } };
    case 'gzip-corrupt': {
      const z = gzipSync(jsonText);
      z[z.length - 6] ^= 0xff; // the CRC no longer matches
      return { body: Buffer.concat([z.subarray(0, 12), Buffer.from('not deflate at all'), z.subarray(12)]), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } };
    }
    case 'invalid-json': return { body: jsonText.slice(0, -1) + '\u0000', headers: { 'content-type': 'application/json' } };
    case 'text': return { body: jsonText, headers: { 'content-type': 'text/plain' } };
    case 'json-instead': return { body: jsonText, headers: { 'content-type': 'application/json' } };
    case 'no-boundary': return { body: '--x\r\n\r\n', headers: { 'content-type': 'multipart/form-data' } };
    case 'garbage': return { body: '\u0000\u0001garbage', headers: { 'content-type': 'multipart/form-data; boundary=zzz' } };
    case 'truncated': {
      const b = 'fuzzboundary';
      const text = `--${b}\r\nContent-Disposition: form-data; name="polygon_id"\r\n\r\n1\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff`;
      return { body: text, headers: { 'content-type': `multipart/form-data; boundary=${b}` } };
    }
    case 'form': {
      const f = new FormData();
      const fields = r.body !== null && typeof r.body === 'object' && !Array.isArray(r.body) ? (r.body as Record<string, unknown>) : { value: r.body };
      for (const [k, v] of Object.entries(fields)) if (k !== 'file' && v !== undefined) f.append(k, asText(v));
      if (r.fileBytes !== 'none') {
        const bytes = r.fileBytes === 'photo' ? PHOTO : Buffer.from('\u0000not an image or a zip');
        f.set('file', new Blob([bytes]), r.fileBytes === 'photo' ? 'photo.jpg' : '\u0000.zip');
      }
      return { body: f, headers: {} };
    }
  }
}

interface RawResponse { status: number; type: string; text: string }

/**
 * node:http rather than fetch: fetch (the WHATWG URL parser) would resolve `..` and `%2e%2e` segments and
 * tidy the path before it leaves, and the point is to send it as generated.
 */
async function send(base: string, method: string, target: string, headers: Record<string, string>, body?: BodyInit): Promise<RawResponse> {
  let bytes: Buffer | undefined;
  if (body instanceof FormData) {
    const r = new Response(body);
    headers['content-type'] = r.headers.get('content-type')!;
    bytes = Buffer.from(await r.arrayBuffer());
  } else if (body !== undefined) {
    bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body as Uint8Array);
  }
  if (method === 'GET' || method === 'HEAD') bytes = undefined;
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path: target, headers: bytes ? { ...headers, 'content-length': String(bytes.length) } : headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(bytes);
  });
}

interface Verdict { request: string; status: number; problem: string; body: string }

/** Shape of an error answer: `{error:{code,message,message_zh,details}}`, the Chinese message in Chinese. */
function shapeProblem(text: string): string | undefined {
  let j: any;
  try {
    j = JSON.parse(text);
  } catch {
    return 'JSON content type, body not JSON';
  }
  const e = j?.error;
  if (!e || typeof e !== 'object') return 'no error object';
  if (typeof e.code !== 'string' || !e.code) return 'no error.code';
  if (typeof e.message !== 'string' || !e.message) return 'no error.message';
  if (typeof e.message_zh !== 'string' || !/[\u4e00-\u9fff]/.test(e.message_zh)) return 'error.message_zh missing or not Chinese';
  if (!('details' in e)) return 'no error.details';
  return undefined;
}

const seedOf = (key: string) => (SEED ^ createHash('sha256').update(key).digest().readInt32LE(0)) | 0;

describeEachDb('fuzz of the API from its OpenAPI document', (backend) => {
  let env: FieldEnv;
  let adminId: number;
  let doc: { paths: Record<string, Record<string, Operation>> };
  let linkToken: string;

  const newLink = async () => {
    linkToken = (await createLink(env.db, REGION, { id: adminId, username: 'fuzz-admin', displayName: 'fuzz', role: 'admin', villages: null },
      { polygon_ids: env.jian.slice(0, 2), label: 'fuzz' })).token;
  };

  beforeAll(async () => {
    env = await fieldEnv(backend);
    const admin = await env.app.as('admin', { username: 'fuzz-admin' });
    adminId = admin.user.id;
    await newLink();
    doc = (await env.app.get('/api/openapi.json')).body;
  });
  afterAll(async () => {
    await env?.close();
  });

  it('covers every operation of the document', () => {
    const ops = Object.values(doc.paths).flatMap((p) => Object.keys(p));
    expect(ops.length).toBeGreaterThan(40);
  });

  it(`answers ${RUNS} hostile requests per operation with no 5xx and only well-formed errors`, async () => {
    const bad: Verdict[] = [];
    let sent = 0;
    for (const [template, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const key = `${method.toUpperCase()} ${template}`;
        for (const r of fc.sample(requestArb(method, template, op), { seed: seedOf(key), numRuns: RUNS })) {
          const qs = r.query.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
          const { body, headers } = encodeBody(r);
          if (r.who === 'admin') headers.authorization = `Bearer ${(await createSession(env.db, adminId)).token}`;
          if (r.who === 'link') headers['x-field-token'] = linkToken;
          const replay = `${r.method} ${r.path}${qs ? `?${qs}` : ''} as ${r.who}, body ${r.variant}: ${JSON.stringify(r.body)?.slice(0, 300)}`;
          let res: RawResponse;
          try {
            res = await send(env.app.url, r.method, `${r.path}${qs ? `?${qs}` : ''}`, headers, body);
          } catch (e) {
            bad.push({ request: replay, status: 0, problem: `no answer: ${(e as Error).message}`, body: '' });
            continue;
          }
          sent++;
          const { status, type, text } = res;
          // 503 is a state, not a crash (the field page not built, the database away): it must still be well-formed
          if (status >= 500 && status !== 503) bad.push({ request: replay, status, problem: '5xx', body: text.slice(0, 300) });
          else if (status >= 400 && type.includes('json')) {
            const p = shapeProblem(text);
            if (p) bad.push({ request: replay, status, problem: p, body: text.slice(0, 300) });
          }
          // keep the callers usable: a fuzzed PATCH may demote or disable the admin, a DELETE revoke the link
          if (r.who === 'admin' && method === 'patch' && template.startsWith('/api/users')) {
            await env.db.query(`UPDATE app_user SET role = 'admin', disabled = false, must_change_password = false WHERE id = $1`, [adminId]);
          }
          if (method === 'delete' && template.startsWith('/api/field-links')) await newLink();
        }
      }
    }
    const summary = `${bad.length} bad answers out of ${sent} requests:\n${bad.map((b) => `  ${b.status} ${b.problem} ← ${b.request}\n      ${b.body}`).join('\n')}`;
    expect(sent).toBeGreaterThan(RUNS * 40);
    expect(bad.length, summary).toBe(0);
  });
});
