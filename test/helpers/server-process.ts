/**
 * `npm start` as a real child process (the tests of the data-dir lock and of the CLI's hand-off need two
 * processes on one embedded database, so the server cannot run in the test's own process).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export const START_TIMEOUT = 240_000;

export interface ServerProcess {
  child: ChildProcess;
  /** resolves with the URL once the server prints "tuban is running"; rejects if it exits or times out first */
  running: Promise<string>;
  exited: Promise<number | null>;
  output: () => string;
}

export function startServer(env: NodeJS.ProcessEnv): ServerProcess {
  const child = spawn('npm', ['start', '--ignore-scripts'], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start in time:\n${out}`)), START_TIMEOUT);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /tuban is running: (http:\/\/\S+)/.exec(out);
      if (m) (clearTimeout(timer), resolve(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => (clearTimeout(timer), reject(new Error(`exited ${code}:\n${out}`))));
  });
  running.catch(() => undefined);
  return { child, running, exited, output: () => out };
}

/** `npm run ingest -- …args` as a person runs it (its own process, the given environment), its output collected. */
export function runIngest(env: NodeJS.ProcessEnv, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('npx', ['tsx', 'scripts/ingest.ts', ...args], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stdout, stderr })));
}
