/**
 * Random access to the bytes of a .shp / .dbf / .shx without holding the file (issue 11 item 6: peak RSS
 * must not grow with the file). The readers walk their records in order, so a file is seen through a
 * window of WINDOW_BYTES that slides forward; an in-memory Uint8Array (unit tests, small inputs) is the
 * same interface with the whole file as its window.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export const WINDOW_BYTES = 4 << 20;

export interface ByteSource {
  readonly size: number;
  /**
   * Bytes [offset, offset + length) as a view: `buf[at]` is the byte at `offset`. Never shorter than asked
   * unless the file ends first. The view stays valid after later calls (a new window is a new buffer),
   * so a record handed out earlier is never overwritten under its reader.
   */
  view(offset: number, length: number): { buf: Buffer; at: number };
  close(): void;
}

export function memorySource(input: Uint8Array): ByteSource {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return { size: buf.length, view: (offset) => ({ buf, at: offset }), close: () => undefined };
}

export function fileSource(path: string, window = WINDOW_BYTES): ByteSource {
  let fd: number | undefined = openSync(path, 'r');
  const size = fstatSync(fd).size;
  let start = 0;
  let cur = Buffer.alloc(0);
  return {
    size,
    view(offset, length) {
      if (offset >= start && offset + length <= start + cur.length) return { buf: cur, at: offset - start };
      if (fd === undefined) throw new Error(`read after close: ${path}`);
      const n = Math.max(0, Math.min(Math.max(window, length), size - offset));
      const b = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, b, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      start = offset;
      cur = got === n ? b : b.subarray(0, got);
      return { buf: cur, at: 0 };
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

export const isByteSource = (x: Uint8Array | ByteSource): x is ByteSource => !(x instanceof Uint8Array);
export const toSource = (x: Uint8Array | ByteSource): ByteSource => (isByteSource(x) ? x : memorySource(x));

/** A small file read whole (a .prj, .cpg), through its source. */
export function readAll(src: ByteSource): Uint8Array {
  const { buf, at } = src.view(0, src.size);
  return buf.subarray(at, at + src.size);
}
