/**
 * A file this process owns for as long as it runs (the data-dir lock, the CLI hand-off file): removed at
 * release or at exit, whichever comes first, and only while it is still ours — a successor that took it
 * over (a stale lock, a restarted server) keeps its own.
 */
import { unlinkSync } from 'node:fs';

export function removeWhenDone(file: string, stillOurs: () => boolean): () => void {
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    if (!stillOurs()) return;
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
  process.on('exit', remove);
  return remove;
}
