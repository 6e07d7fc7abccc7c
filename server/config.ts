import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting in one place: defaults here, environment overrides, validated once at start.
 * Secrets (DATABASE_URL, SESSION_SECRET) only ever come from the environment.
 */
const EnvSchema = z.object({
  DATABASE_URL: z.string().optional(),
  /** PostgreSQL: the role that owns the tables; runs migrations and imports (README "Database roles") */
  DATABASE_OWNER_URL: z.string().optional(),
  /** start even when DATABASE_URL's role could alter the history (owner or superuser): 1 to accept */
  TUBAN_ALLOW_OWNER_ROLE: z.enum(['0', '1', 'true', 'false']).optional(),
  /** how often the photo store is swept for files without a row and rows without a file (0 = never) */
  TUBAN_EVIDENCE_SWEEP_MINUTES: z.coerce.number().int().min(0).max(10080).default(360),
  TUBAN_DATA_DIR: z.string().default('data'),
  /** a server started while `npm run ingest` holds the embedded database waits this long for it (s) */
  TUBAN_IMPORT_WAIT_S: z.coerce.number().int().min(0).max(86400).default(900),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** planar CRS the analysis runs in: CGCS2000 3-degree GK zone 35 with zone prefix (Ji'an ≈ 105.9°E) */
  TUBAN_WORK_SRID: z.coerce.number().int().default(4523),
  /** county-level 行政区代码 stamped on every large table (distribution key on Citus); 500118 = 永川区 */
  TUBAN_REGION_CODE: z.string().regex(/^\d{6,12}$/).default('500118'),
  /** a school within this distance (m) of a polygon sets the school flag */
  TUBAN_SCHOOL_DISTANCE_M: z.coerce.number().positive().default(200),
  TUBAN_MAX_UPLOAD_MB: z.coerce.number().positive().default(512),
  TUBAN_MAX_ZIP_ENTRIES: z.coerce.number().int().positive().default(2000),
  TUBAN_MAX_UNCOMPRESSED_MB: z.coerce.number().positive().default(4096),
  TUBAN_MAX_COMPRESSION_RATIO: z.coerce.number().positive().default(200),
  /** one file inside a zip, uncompressed (a zip bomb's one huge entry is refused at this size) */
  TUBAN_MAX_ENTRY_MB: z.coerce.number().positive().default(2048),
  /** load the synthetic sample town into an empty database on start */
  TUBAN_SAMPLE: z.enum(['auto', 'off']).default('auto'),
  /** with the sample town, its synthetic imagery (rendered and imported in the background after start) */
  TUBAN_SAMPLE_IMAGERY: z.enum(['auto', 'off']).default('auto'),
  /** per-statement timeout for request queries (ms); imports run without it */
  TUBAN_STATEMENT_TIMEOUT_MS: z.coerce.number().int().positive().default(30000),
  /** PostgreSQL: a connection (or a free one from the pool) not had within this long → 503 database_unavailable */
  TUBAN_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** PostgreSQL: client-side bound per request query, for a wire that went dead (default: statement timeout + 5 s) */
  TUBAN_DB_QUERY_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  /** connections to a PostgreSQL server (dozens of concurrent users; each decision holds one for a commit) */
  TUBAN_DB_POOL_MAX: z.coerce.number().int().min(1).max(500).default(20),
  /** memory for finished vector tiles (MB, least recently used dropped first); 0: no tile cache */
  TUBAN_TILE_CACHE_MB: z.coerce.number().min(0).max(65536).default(64),
  /** a polygon still without an outcome this many days after its first import is overdue (GET /api/overdue) */
  TUBAN_PENDING_DAYS: z.coerce.number().int().min(1).max(3650).default(14),
  /** year of the campaign phases on the dashboard (publicity 4/15 … consolidation 12/31); default: the current year (Beijing) */
  TUBAN_CAMPAIGN_YEAR: z.coerce.number().int().min(2000).max(2099).optional(),
  /** public reports (举报): the village responsible answers within this many working days (issue 16 item 6) */
  TUBAN_REPORT_RESPONSE_WORKDAYS: z.coerce.number().int().min(1).max(60).default(3),
  /** public reports: at most this many per address per hour / per day, and per phone number per day */
  TUBAN_REPORT_LIMIT_HOUR: z.coerce.number().int().min(1).max(10000).default(5),
  TUBAN_REPORT_LIMIT_DAY: z.coerce.number().int().min(1).max(100000).default(20),
  TUBAN_REPORT_LIMIT_PHONE_DAY: z.coerce.number().int().min(1).max(10000).default(3),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** map sources (optional; none needs the internet): an XYZ/WMTS tile URL template, or a raster .pmtiles file in the data dir */
  TUBAN_BASEMAP_URL: z.string().trim().max(2000).optional(),
  TUBAN_IMAGERY_BEFORE_URL: z.string().trim().max(2000).optional(),
  TUBAN_IMAGERY_AFTER_URL: z.string().trim().max(2000).optional(),
  /** the built web app (npm run build:web) */
  TUBAN_WEB_DIR: z.string().default('dist/web'),
  /**
   * the origin(s) browsers reach tuban at, comma-separated (`https://tuban.example.gov.cn`), when a reverse
   * proxy rewrites the Host header and does not send X-Forwarded-Host: cookie-authenticated changes must
   * come from one of these or from the Host the request names (auth/csrf.ts)
   */
  TUBAN_PUBLIC_ORIGIN: z.string().trim().max(2000).optional(),
  /**
   * the address people reach tuban at (`https://tuban.example.gov.cn`, or with a path prefix): field links and
   * the QR codes of links and village sheets are built on it, not on the request's host (which is 127.0.0.1
   * behind a proxy, or the analyst's own view of the server)
   */
  TUBAN_PUBLIC_URL: z.string().trim().max(2000).optional(),
});

export type Config = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration / 配置无效:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.TUBAN_DATA_DIR);
  return {
    databaseUrl: e.DATABASE_URL || undefined,
    databaseOwnerUrl: e.DATABASE_OWNER_URL || undefined,
    allowOwnerRole: e.TUBAN_ALLOW_OWNER_ROLE === '1' || e.TUBAN_ALLOW_OWNER_ROLE === 'true',
    evidenceSweepMinutes: e.TUBAN_EVIDENCE_SWEEP_MINUTES,
    dataDir,
    pgliteDir: path.join(dataDir, 'pglite'),
    importWaitS: e.TUBAN_IMPORT_WAIT_S,
    sampleDir: path.join(dataDir, 'sample'),
    port: e.PORT,
    host: e.HOST,
    workSrid: e.TUBAN_WORK_SRID,
    regionCode: e.TUBAN_REGION_CODE,
    schoolDistanceM: e.TUBAN_SCHOOL_DISTANCE_M,
    limits: {
      maxUploadBytes: e.TUBAN_MAX_UPLOAD_MB * 1024 * 1024,
      maxZipEntries: e.TUBAN_MAX_ZIP_ENTRIES,
      maxUncompressedBytes: e.TUBAN_MAX_UNCOMPRESSED_MB * 1024 * 1024,
      maxCompressionRatio: e.TUBAN_MAX_COMPRESSION_RATIO,
      maxEntryBytes: e.TUBAN_MAX_ENTRY_MB * 1024 * 1024,
    },
    /** uploads (uploads/) and zips being imported (import-*) live here while a request runs, then are removed */
    tmpDir: path.join(dataDir, 'tmp'),
    sample: e.TUBAN_SAMPLE,
    sampleImagery: e.TUBAN_SAMPLE_IMAGERY,
    statementTimeoutMs: e.TUBAN_STATEMENT_TIMEOUT_MS,
    dbPoolMax: e.TUBAN_DB_POOL_MAX,
    tileCacheBytes: Math.floor(e.TUBAN_TILE_CACHE_MB * 1024 * 1024),
    dbConnectTimeoutMs: e.TUBAN_DB_CONNECT_TIMEOUT_MS,
    dbQueryTimeoutMs: e.TUBAN_DB_QUERY_TIMEOUT_MS,
    pendingDays: e.TUBAN_PENDING_DAYS,
    campaignYear: e.TUBAN_CAMPAIGN_YEAR,
    reports: {
      responseWorkdays: e.TUBAN_REPORT_RESPONSE_WORKDAYS,
      perHour: e.TUBAN_REPORT_LIMIT_HOUR,
      perDay: e.TUBAN_REPORT_LIMIT_DAY,
      perPhoneDay: e.TUBAN_REPORT_LIMIT_PHONE_DAY,
    },
    logLevel: e.LOG_LEVEL,
    map: {
      basemapUrl: e.TUBAN_BASEMAP_URL || undefined,
      imageryBeforeUrl: e.TUBAN_IMAGERY_BEFORE_URL || undefined,
      imageryAfterUrl: e.TUBAN_IMAGERY_AFTER_URL || undefined,
    },
    webDir: path.resolve(e.TUBAN_WEB_DIR),
    publicOrigins: parseOrigins(e.TUBAN_PUBLIC_ORIGIN),
    publicUrl: parsePublicUrl(e.TUBAN_PUBLIC_URL),
  };
}

/** `https://a.example, http://b.example:8080/` → their origins; anything that is not an http(s) URL is an error */
function parseOrigins(v: string | undefined): string[] {
  if (!v) return [];
  return v.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new Error(`Invalid configuration / 配置无效:\n  TUBAN_PUBLIC_ORIGIN: not a URL: ${s}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new Error(`Invalid configuration / 配置无效:\n  TUBAN_PUBLIC_ORIGIN: not http(s): ${s}`);
    }
    return u.origin;
  });
}

/** `https://tuban.example.gov.cn/` → `https://tuban.example.gov.cn` (no trailing slash); only http(s) */
function parsePublicUrl(v: string | undefined): string | undefined {
  if (!v) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new Error(`Invalid configuration / 配置无效:\n  TUBAN_PUBLIC_URL: not a URL: ${v}`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash) {
    throw new Error(`Invalid configuration / 配置无效:\n  TUBAN_PUBLIC_URL: an http(s) address without query or fragment: ${v}`);
  }
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** Connection strings carry passwords: never log them as they are. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}
