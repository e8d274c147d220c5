import { InvalidArgumentError } from '../errors.js';

/** One word for a POSIX shell: as it is when it is plainly safe, else single-quoted. */
export function quote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) {
    return word;
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The shell text Exec runs. An argv is quoted word by word so that no word is split or
 * expanded; a cwd becomes `cd -- DIR || exit;` in front, so a missing directory fails the
 * command (with cd's status) instead of running it elsewhere.
 */
export function shellCommand(command: string | readonly string[], cwd?: string): string {
  const text = typeof command === 'string' ? command : command.map(quote).join(' ');
  if (text.trim() === '') {
    throw new InvalidArgumentError('exec needs a command: got an empty one');
  }
  if (cwd === undefined || cwd === '') {
    return text;
  }
  return `cd -- ${quote(cwd)} || exit; ${text}`;
}

/** Checks names the shell could not export, so the error names the key rather than failing remotely. */
export function checkEnv(env: Record<string, string> | undefined): Record<string, string> {
  const checked: Record<string, string> = {};
  for (const [key, value] of Object.entries(env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new InvalidArgumentError(`exec env name ${JSON.stringify(key)} is not a variable name: expected letters, digits and _`);
    }
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`exec env ${key} is a ${typeof value}: expected a string`);
    }
    checked[key] = value;
  }
  return checked;
}

/** Whole seconds for a timeout given in seconds; 0 means none. */
export function timeoutSecs(timeout: number | undefined, what: string): number {
  if (timeout === undefined) {
    return 0;
  }
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new InvalidArgumentError(`${what} timeout ${timeout} is not a number of seconds >= 0`);
  }
  return Math.ceil(timeout);
}

/** MiB from a number (MiB) or a size with a unit: 512M, 2G, 2GiB, 1024MiB. */
export function memoryMib(memory: number | string): number {
  if (typeof memory === 'number') {
    if (!Number.isInteger(memory) || memory <= 0) {
      throw new InvalidArgumentError(`memory ${memory} is not a positive whole number of MiB`);
    }
    return memory;
  }
  const match = /^\s*(\d+)\s*(M|MB|MiB|G|GB|GiB)?\s*$/i.exec(memory);
  if (match === null) {
    throw new InvalidArgumentError(`memory ${JSON.stringify(memory)} is not a size: expected MiB, or a number with M or G (such as 2G)`);
  }
  const value = Number.parseInt(match[1], 10);
  const unit = (match[2] ?? 'M').toUpperCase();
  return unit.startsWith('G') ? value * 1024 : value;
}
