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
  /**
   * 'date' / 'datetime': the value is text `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` in Beijing time, written
   * as a real Excel date (a serial number with a date format) so spreadsheets sort and filter it and GDAL
   * types the column Date / DateTime. Other values: numbers as numbers, text as text.
   */
  type?: 'date' | 'datetime';
}

export const DATE_FMT = 'yyyy-mm-dd';
export const DATETIME_FMT = 'yyyy-mm-dd hh:mm:ss';

/**
 * A Beijing wall-clock text as the Date exceljs writes as that same wall-clock serial (Excel dates carry
 * no time zone: exceljs converts the Date's UTC fields). null when the text is no such date.
 */
export function excelDate(text: unknown): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(String(text ?? ''));
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  return new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
}

/**
 * One XLSX cell: text as an inline string (t="inlineStr": a string cell that readers such as GDAL/QGIS
 * take as text, where exceljs's plain strings without the shared-string table come out as formula-result
 * cells, t="str", which GDAL does not count as text, so it missed the header row), numbers as numbers,
 * dates of a date column as dates. Inline rather than shared strings: a shared-string table is held in
 * memory until the end, inline strings stream.
 */
export function xlsxCell(v: unknown, col?: SheetColumn): ExcelJS.CellValue {
  if (v === null || v === undefined || v === '') return null;
  if (col?.type && typeof v === 'string') return excelDate(v) ?? { richText: [{ text: v }] };
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v instanceof Date) return v;
  return { richText: [{ text: String(v) }] };
}

/**
 * One landscape A4 sheet, header row frozen, streamed page by page (exceljs's streaming writer, inline
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
  const fmt = (c: SheetColumn) => c.numFmt ?? (c.type === 'date' ? DATE_FMT : c.type === 'datetime' ? DATETIME_FMT : undefined);
  ws.columns = columns.map((c) => ({ width: c.width, style: fmt(c) ? { numFmt: fmt(c) } : {} }));
  // the header: all text, so that GDAL (first row all strings, the next one not) takes it as field names
  const head = ws.addRow(columns.map((c) => xlsxCell(c.header)));
  head.font = { bold: true };
  head.alignment = { vertical: 'middle', horizontal: 'center', wrapText: true };
  head.commit();
  let n = 0;
  for await (const rows of pages) {
    for (const cells of rows) ws.addRow(cells.map((v, i) => xlsxCell(v, columns[i]))).commit();
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
