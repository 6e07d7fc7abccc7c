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
  private cur: string[] = [];
  private len = 0;
  constructor(private readonly size = 1 << 20) {}
  row(fields: (string | number | null | undefined)[]) {
    const line = fields.map(copyField).join('\t') + '\n';
    this.cur.push(line);
    this.len += line.length;
  }
  /** a chunk is full */
  ready(): boolean {
    return this.len >= this.size;
  }
  /** the rows so far as one chunk ('' when none) */
  take(): string {
    const chunk = this.cur.join('');
    this.cur = [];
    this.len = 0;
    return chunk;
  }
}
