import { readFileSync } from 'node:fs';

/**
 * Load named statements from a .sql file. Each statement starts with a `-- name: snake_case` line; the
 * comment lines after it document the parameters. Keeps the SQL that matters readable in one place, out
 * of string concatenation.
 */
export function loadSql(url: URL): Record<string, string> {
  const text = readFileSync(url, 'utf8');
  const out: Record<string, string> = {};
  let name: string | null = null;
  let body: string[] = [];
  const flush = () => {
    if (name) out[name] = body.join('\n').trim().replace(/;\s*$/, '');
  };
  for (const line of text.split('\n')) {
    const m = /^--\s*name:\s*([a-z0-9_]+)\s*$/.exec(line);
    if (m) {
      flush();
      name = m[1];
      body = [];
    } else if (name) body.push(line);
  }
  flush();
  return out;
}

/** Typed accessor that fails at start-up, not mid-request, when a statement is missing. */
export function sqlSet<K extends string>(url: URL, names: readonly K[]): Record<K, string> {
  const all = loadSql(url);
  for (const n of names) if (!all[n]) throw new Error(`${url.pathname}: missing statement '${n}'`);
  return all as Record<K, string>;
}
