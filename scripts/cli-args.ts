/**
 * Command-line parsing that never ends in a stack trace: node:util parseArgs in strict mode (an unknown
 * or misspelt option, a missing value, an unexpected argument are errors), and any such error prints
 * what was wrong and the usage, and exits 2 — the usual exit status for a usage error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit with the usage text: status 2 for a usage error, 0 when help was asked for. */
export function usageExit(usage: string, problem?: string): never {
  if (problem) process.stderr.write(`${problem}\n`);
  (problem ? process.stderr : process.stdout).write(`${usage}\n`);
  process.exit(problem ? 2 : 0);
}

/** parseArgs(config) (strict unless config says otherwise); a usage error prints `usage` and exits 2. */
export function parseCli<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config); // strict is parseArgs's default: unknown options throw ERR_PARSE_ARGS_*
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    usageExit(usage, `${(e as Error).message}\n参数有误：未知或拼写错误的选项，或选项缺少值。`);
  }
}

/** A numeric option: undefined when absent; a usage error when it is not a number (e.g. --width 六十). */
export function numberOption(name: string, v: string | undefined, usage: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) usageExit(usage, `--${name} must be a number, not "${v}" / --${name} 必须是数字，而不是“${v}”`);
  return n;
}
