/** issue 17 item 7: the start's progress line stays readable in a log file — no bare \r off a terminal. */
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../server/progress-line';

const sink = (isTTY: boolean) => {
  const out: string[] = [];
  return { out, stream: { isTTY, write: (t: string) => out.push(t) } };
};

describe('progressLine', () => {
  it('writes whole lines, every 10 s, and no \\r when the stream is not a terminal', () => {
    const { out, stream } = sink(false);
    const p = progressLine(stream);
    for (let s = 1; s <= 25; s++) p.update(`starting… ${s}s`, s);
    p.done();
    expect(out.join('')).not.toContain('\r');
    expect(out).toEqual(['starting… 1s\n', 'starting… 11s\n', 'starting… 21s\n']);
  });

  it('redraws in place on a terminal and ends the line once', () => {
    const { out, stream } = sink(true);
    const p = progressLine(stream);
    p.update('a 1s', 1);
    p.update('a 2s', 2);
    p.done();
    expect(out).toEqual(['\ra 1s\x1b[K', '\ra 2s\x1b[K', '\n']);
  });

  it('writes nothing at the end when nothing was drawn', () => {
    const { out, stream } = sink(true);
    progressLine(stream).done();
    expect(out).toEqual([]);
  });
});
