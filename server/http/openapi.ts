/**
 * The route table: every HTTP route of tuban, with the roles it admits and its zod schemas. From it come
 *   - `GET /api/openapi.json` (openApiDocument below), and
 *   - the role × route test (test/integration/role-route-table.test.ts), which calls every route here as
 *     anonymous and as each role: guarded routes must answer 401 to anonymous, 403 to roles not listed,
 *     and neither to roles listed. The same test fails when the app serves a route missing from here.
 *
 * Adding a route (decisions, cases, tiles, …) — mount it with `route()`, which registers the spec AND
 * mounts the handlers behind `requireRole(...spec.roles)`, so the documented roles are the enforced ones:
 *
 *   export const DecisionBody = z.object({ outcome: z.enum([...]), version: z.number().int() });
 *   export function decisionRoutes(ctx: AppContext) {
 *     const r = router(); // http/canonical-path.ts: case-sensitive
 *     route(r, {
 *       method: 'post', path: '/api/polygons/:id/decisions', tags: ['review'],
 *       summary: 'Decide a polygon', summary_zh: '处理图斑',
 *       roles: ['admin', 'analyst'],
 *       body: DecisionBody, response: DecisionOut, status: 201,
 *     }, async (req, res) => { const b = DecisionBody.parse(req.body); … });
 *     return r;
 *   }
 *
 * then add one `app.use(decisionRoutes(ctx))` line in server/app.ts. Handlers still parse their own
 * input with the same schema (the spec documents, the handler enforces). `roles: 'public'` = no login.
 * A route mounted some other way (plain `r.get(...)` with its own guard) must be declared with
 * `registerRoute(spec)` — see server/routes/specs.ts for the routes that predate this module.
 *
 * For the role × route test an admitted request only has to get past the guard: path parameters default
 * to `1` and the body to `{}`; give `example` when that is not enough to avoid a 401/403 from inside the
 * handler. Keep 401/403 for "who you are" only: answer 404 for objects outside a user's villages.
 */
import type { RequestHandler, Router } from 'express';
import { z } from 'zod';
import { requireRole, type Role } from '../auth/guard';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteSpec {
  method: Method;
  /** express syntax: `/api/polygons/:id` */
  path: string;
  summary: string;
  summary_zh?: string;
  description?: string;
  tags?: readonly string[];
  /** roles admitted; 'public' = no login needed */
  roles: readonly Role[] | 'public';
  /** path parameters; default: each `:name` is a string */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** how the body is sent (default json) */
  bodyType?: 'json' | 'multipart';
  response?: z.ZodType;
  /** success status (default 200) */
  status?: number;
  /** success content type (default application/json), e.g. application/vnd.mapbox-vector-tile */
  responseType?: string;
  /** for the role × route test: values that get an admitted caller past the handler's own checks */
  example?: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown };
}

const registry = new Map<string, RouteSpec>();
const keyOf = (s: Pick<RouteSpec, 'method' | 'path'>) => `${s.method.toUpperCase()} ${s.path}`;

/** Declares a route (idempotent: createApp may run many times in one process). */
export function registerRoute(spec: RouteSpec): RouteSpec {
  const k = keyOf(spec);
  const prev = registry.get(k);
  if (prev && JSON.stringify(prev.roles) !== JSON.stringify(spec.roles)) {
    throw new Error(`route ${k} registered twice with different roles`);
  }
  registry.set(k, spec);
  return spec;
}

/** Registers the spec and mounts the handlers behind the role guard it names. */
export function route(r: Router, spec: RouteSpec, ...handlers: RequestHandler[]) {
  registerRoute(spec);
  const guard = spec.roles === 'public' ? [] : [requireRole(...spec.roles)];
  r[spec.method](spec.path, ...guard, ...handlers);
}

/** Every registered route, sorted by path then method. */
export function listRoutes(): RouteSpec[] {
  return [...registry.values()].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

/** `/api/polygons/:id` → `/api/polygons/{id}` */
export const openApiPath = (p: string) => p.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
const pathParams = (p: string) => [...p.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);

type Json = Record<string, unknown>;

function schema(t: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _s, ...rest } = z.toJSONSchema(t, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

function parameters(spec: RouteSpec): Json[] {
  const out: Json[] = [];
  const pp = spec.params ? schema(spec.params, 'input') : undefined;
  for (const name of pathParams(spec.path)) {
    const s = (pp?.properties as Record<string, Json> | undefined)?.[name] ?? { type: 'string' };
    out.push({ name, in: 'path', required: true, schema: s });
  }
  if (spec.query) {
    const q = schema(spec.query, 'input');
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, s] of Object.entries((q.properties as Record<string, Json>) ?? {})) {
      const { description, ...rest } = s;
      out.push({ name, in: 'query', required: required.has(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  return out;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ERROR_REF } } });

const ErrorSchema = z.object({
  error: z.object({
    code: z.string().describe('stable machine-readable code, e.g. invalid_input, unauthenticated, forbidden'),
    message: z.string().describe('English'),
    message_zh: z.string().describe('Simplified Chinese'),
    details: z.unknown().optional(),
  }),
});

function operation(spec: RouteSpec): Json {
  const status = String(spec.status ?? 200);
  const guarded = spec.roles !== 'public';
  const responses: Json = {
    [status]: {
      description: 'OK',
      ...(spec.status === 204
        ? {}
        : { content: { [spec.responseType ?? 'application/json']: { schema: spec.response ? schema(spec.response, 'output') : {} } } }),
    },
  };
  if (spec.body || spec.query || spec.params || pathParams(spec.path).length) responses['400'] = errorResponse('Invalid input');
  if (guarded) {
    responses['401'] = errorResponse('Not logged in');
    responses['403'] = errorResponse('Role not admitted');
  }
  responses.default = errorResponse('Error');
  const op: Json = {
    operationId: `${spec.method}${spec.path.replace(/^\/api/, '').split(/[/:{}_-]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('')}`,
    summary: spec.summary,
    ...(spec.summary_zh || spec.description ? { description: [spec.summary_zh, spec.description].filter(Boolean).join('\n\n') } : {}),
    ...(spec.tags ? { tags: spec.tags } : {}),
    'x-roles': spec.roles,
    security: guarded ? [{ cookie: [] }, { bearer: [] }] : [],
    parameters: parameters(spec),
    responses,
  };
  if (spec.body) {
    const type = spec.bodyType === 'multipart' ? 'multipart/form-data' : 'application/json';
    op.requestBody = { required: true, content: { [type]: { schema: schema(spec.body, 'input') } } };
  }
  return op;
}

/** OpenAPI 3.1 (JSON Schema 2020-12, which is what zod emits) for every registered route. */
export function openApiDocument(info: { version: string }): Json {
  const paths: Record<string, Json> = {};
  for (const spec of listRoutes()) {
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = operation(spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tuban 图斑 API',
      version: info.version,
      description:
        'Errors are always `{error: {code, message, message_zh, details}}`. Log in with POST /api/auth/login; ' +
        'browsers get an HTTP-only cookie, API clients ask for a bearer token (`"token": true`). ' +
        '`x-roles` lists the roles admitted to each operation.',
    },
    components: {
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'tuban_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      schemas: { Error: schema(ErrorSchema, 'output') },
    },
    paths,
  };
}
