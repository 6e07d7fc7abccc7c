/** Writing a large response without holding it: backpressure, download names, CSV cells. */
import type { Response } from 'express';

/**
 * Writes to the response, waiting for 'drain' when its buffer is full so a slow client slows the database
 * reads down instead of filling memory. Rejects once the client has gone (the export stops there).
 */
export class ResponseSink {
  private gone = false;
  constructor(private readonly res: Response) {
    res.once('close', () => {
      this.gone = true;
    });
  }

  get closed(): boolean {
    return this.gone || this.res.destroyed;
  }

  /** write; resolves when the chunk may be followed by another */
  async write(chunk: string | Uint8Array): Promise<void> {
    if (this.closed) throw new ClientGone();
    if (!this.res.write(chunk)) await this.drained();
  }

  /** wait until the response buffer has room (no-op when it has) */
  async drained(): Promise<void> {
    if (!this.res.writableNeedDrain) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', gone);
        resolve();
      };
      const gone = () => {
        this.res.off('drain', done);
        reject(new ClientGone());
      };
      this.res.once('drain', done);
      this.res.once('close', gone);
    });
  }
}

export class ClientGone extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGone';
  }
}

/** RFC 5987 / RFC 6266: an ASCII fallback name and the real (Chinese) name as filename*. */
export function contentDisposition(asciiName: string, name: string): string {
  const ext = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${asciiName.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${ext}`;
}

/** YYYYMMDD in Beijing (names of the downloaded files). */
export function stamp(d = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(d)
    .replaceAll('-', '');
}

/**
 * One CSV cell (RFC 4180). Text that a spreadsheet would run as a formula (= + - @ and tab/CR at the start)
 * gets a leading apostrophe (OWASP CSV injection); numbers are written as numbers.
 */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (cells: unknown[]) => `${cells.map(csvCell).join(',')}\r\n`;

/** UTF-8 byte order mark: Excel (zh-CN) opens UTF-8 CSV as GBK without it. */
export const BOM = '\ufeff';
