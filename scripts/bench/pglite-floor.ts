/**
 * The memory floor of the embedded database (issue 11 item 6): open PGlite + PostGIS in a fresh data
 * dir, migrate, run one PostGIS function, exit. Its peak RSS, measured from outside (GNU time), is what
 * any import on PGlite costs before tuban reads a byte; ingest-reconcile.ts prints it beside tuban's.
 *
 *   node --import tsx scripts/bench/pglite-floor.ts <empty dir>
 */
import { openPglite } from '../../server/db/pglite';
import { migrate } from '../../server/db/migrate';
import { loadConfig } from '../../server/config';

const dir = process.argv[2];
if (!dir) throw new Error('usage: pglite-floor.ts <empty dir>');
const db = await openPglite({ dataDir: dir, role: 'bench' });
await migrate(db, { workSrid: loadConfig().workSrid });
await db.query('SELECT ST_Area(ST_Buffer(ST_SetSRID(ST_MakePoint(500000, 3300000), 4523), 10)) AS a');
await db.close();
