/** Writing a large response without holding it: backpressure, download names, CSV and XLSX tables. */
import type { Response } from 'express';
import ExcelJS from 'exceljs';

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

/**
 * Runs the first page before anything is sent, so a failing query still answers a JSON error; after the
 * headers a failure can only cut the download (the client sees a truncated file, the log the error).
 */
export async function primed<T>(it: AsyncGenerator<T>): Promise<AsyncGenerator<T>> {
  const first = await it.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* it;
  })();
}

/** Each page's rows as spreadsheet cells; `seq` numbers the rows across pages from 1 (序号). */
export async function* pageCells<T>(pages: AsyncIterable<T[]>, cells: (row: T, seq: number) => unknown[]): AsyncGenerator<unknown[][]> {
  let seq = 0;
  for await (const page of pages) yield page.map((r) => cells(r, ++seq));
}

export interface SheetColumn {
  header: string;
  width: number;
  numFmt?: string;
}

/**
 * One landscape A4 sheet, header row frozen, streamed page by page (exceljs's streaming writer, no shared
 * strings: nothing of the whole table is held). Returns the number of rows written.
 */
export async function streamXlsx(res: Response, sheet: string, columns: SheetColumn[], pages: AsyncIterable<unknown[][]>): Promise<number> {
  const sink = new ResponseSink(res);
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: res, useStyles: true, useSharedStrings: false });
  wb.creator = 'tuban';
  const ws = wb.addWorksheet(sheet, {
    views: [{ state: 'frozen', ySplit: 1 }],
    pageSetup: { paperSize: 9, orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0 },
  });
  ws.columns = columns.map((c) => ({ width: c.width, style: c.numFmt ? { numFmt: c.numFmt } : {} }));
  const head = ws.addRow(columns.map((c) => c.header));
  head.font = { bold: true };
  head.alignment = { vertical: 'middle', horizontal: 'center', wrapText: true };
  head.commit();
  let n = 0;
  for await (const rows of pages) {
    for (const cells of rows) ws.addRow(cells).commit();
    n += rows.length;
    await sink.drained();
  }
  ws.commit();
  await wb.commit();
  return n;
}

/** CSV in UTF-8 with a BOM (Excel opens it as such), one write per page. Returns the number of rows. */
export async function streamCsv(res: Response, headers: string[], pages: AsyncIterable<unknown[][]>): Promise<number> {
  const sink = new ResponseSink(res);
  await sink.write(BOM + csvLine(headers));
  let n = 0;
  for await (const rows of pages) {
    await sink.write(rows.map(csvLine).join(''));
    n += rows.length;
  }
  res.end();
  return n;
}
