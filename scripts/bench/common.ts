/** Pieces every benchmark script needs: a database that exists with PostGIS, and a median. */
import pg from 'pg';

export const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Make sure the database in `url` exists and has PostGIS (created through the `postgres` database when
 * missing). Done before openPostgres, which probes ST_AsMVT once when it opens.
 */
export async function ensureDatabase(url: string, log: (s: string) => void = () => undefined): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  const connect = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await c.end();
  };
  try {
    return await connect();
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') throw e; // 3D000: database does not exist
  }
  u.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: u.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  await admin.end();
  log(`created database ${name}`);
  await connect();
}
