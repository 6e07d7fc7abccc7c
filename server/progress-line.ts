/**
 * A progress line that stays readable wherever stdout goes (issue 17 item 7). On a terminal it is redrawn
 * in place (`\r`, erase to the end of the line). In a log file or a pipe a bare `\r` would glue every update
 * onto one unreadable line, so each update is its own line, and only every `everyS` seconds: a first start
 * that waits 80 s leaves a few lines, not eighty.
 */
export interface LineStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressLine {
  /** shows `text` (the elapsed seconds decide, off a terminal, whether it is written) */
  update(text: string, seconds: number): void;
  /** ends the line on a terminal, so what follows starts on its own */
  done(): void;
}

export function progressLine(stream: LineStream, everyS = 10): ProgressLine {
  let drawn = false;
  let lastLogged = -Infinity;
  return {
    update(text, seconds) {
      if (stream.isTTY) {
        stream.write(`\r${text}\x1b[K`);
        drawn = true;
      } else if (seconds - lastLogged >= everyS) {
        stream.write(`${text}\n`);
        lastLogged = seconds;
      }
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
