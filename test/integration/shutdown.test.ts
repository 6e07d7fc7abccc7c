/**
 * Issue 12, item 2, in process: what the graceful stop does between the signal and the exit
 * (npm-signals.test.ts checks the signal path through `npm start`). A real HTTP server and a real
 * (embedded) database; only the exit is watched instead of performed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { gracefulShutdown } from '../../server/http/shutdown';
import { freshDb } from '../helpers/db';

/** a server whose requests to /slow wait until the test opens the gate; `started` resolves on arrival */
async function serve() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let arrived!: () => void;
  const started = new Promise<void>((r) => (arrived = r));
  const server = http.createServer(async (req, res) => {
    if (req.url === '/slow') {
      arrived();
      await gate;
    }
    res.end('done');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url, open, started };
}

describe('graceful stop', () => {
  it('stops accepting, lets the request in flight finish, closes the database, exits 0', async () => {
    const db = await freshDb('pglite');
    const s = await serve();
    // a keep-alive connection left idle by an earlier request must not hold the stop up
    expect(await (await fetch(`${s.url}/fast`)).text()).toBe('done');
    const codes: number[] = [];
    const stop = gracefulShutdown({ server: s.server, db, log: pino({ level: 'silent' }), exit: (c) => codes.push(c) });

    const inFlight = fetch(`${s.url}/slow`).then((r) => r.text());
    await s.started;
    const stopping = stop('SIGTERM');
    void stop('SIGINT'); // a second signal joins the same stop
    await expect(fetch(`${s.url}/fast`, { headers: { connection: 'close' } })).rejects.toThrow(); // no new connections
    expect(codes).toEqual([]); // still waiting for the request in flight

    s.open();
    expect(await inFlight).toBe('done');
    await stopping;
    expect(codes).toEqual([0]);
    await expect(db.query('SELECT 1')).rejects.toThrow(); // closed
  });

  it('closes a request that outlasts the grace period, and still exits 0', async () => {
    const db = await freshDb('pglite');
    const s = await serve();
    const codes: number[] = [];
    const stop = gracefulShutdown({ server: s.server, db, log: pino({ level: 'silent' }), exit: (c) => codes.push(c), graceMs: 200 });
    const inFlight = fetch(`${s.url}/slow`).then((r) => r.text());
    await s.started;
    await stop('SIGTERM'); // the gate never opens
    await expect(inFlight).rejects.toThrow();
    expect(codes).toEqual([0]);
    s.open();
  });
});
