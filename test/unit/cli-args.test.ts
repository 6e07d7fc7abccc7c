/**
 * Issue 11 item 5: an unknown or misspelt option prints the usage and exits 2 — never a Node stack
 * trace. The scripts fail before opening any database, so they are run for real (tsx, as npm runs them).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const TSX = path.resolve('node_modules/.bin/tsx');
const run = (script: string, args: string[]) => {
  const r = spawnSync(TSX, [script, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TUBAN_DATA_DIR: '/nonexistent-tuban-test' } });
  return { status: r.status, err: r.stderr, out: r.stdout };
};

describe('command-line usage errors', () => {
  it.each([
    ['scripts/ingest.ts', ['--layr', 'survey', 'x.zip'], '--layer NAME'],
    ['scripts/ingest.ts', ['x.zip', '--layer', 'survey', '--width', '六十'], '--width'],
    ['scripts/ingest.ts', ['x.zip'], '--layer is required'],
    ['scripts/users.ts', ['create', 'bob', '--rol', 'field'], 'npm run users -- create'],
    ['scripts/generate-sample.ts', ['--scal', 'tiny'], '--scale tiny|town|district'],
  ])('%s %j prints the usage and exits 2', (script, args, usage) => {
    const r = run(script, args);
    expect(r.status).toBe(2);
    expect(r.err).toContain(usage);
    expect(r.err).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
  }, 60_000);

  it('--help exits 0 with the usage on stdout', () => {
    const r = run('scripts/ingest.ts', ['--help']);
    expect(r.status).toBe(0);
    expect(r.out).toContain('--source-layer');
  }, 60_000);
});
