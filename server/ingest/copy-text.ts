/** PostgreSQL COPY text format: NULL is \N; backslash, tab, newline and carriage return are escaped. */
const SPECIAL = /[\\\t\n\r]/;
export function copyField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '\\N';
  if (!SPECIAL.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Rows joined into chunks of about `size` characters: one big string per COPY would double peak memory. */
export class ChunkBuilder {
  readonly chunks: string[] = [];
  private cur: string[] = [];
  private len = 0;
  constructor(private readonly size = 1 << 20) {}
  row(fields: (string | number | null | undefined)[]) {
    const line = fields.map(copyField).join('\t') + '\n';
    this.cur.push(line);
    this.len += line.length;
    if (this.len >= this.size) this.flush();
  }
  flush() {
    if (this.cur.length) this.chunks.push(this.cur.join(''));
    this.cur = [];
    this.len = 0;
  }
  done(): string[] {
    this.flush();
    return this.chunks;
  }
}
