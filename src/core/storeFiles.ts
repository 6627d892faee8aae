import { constants as fsc, promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * File primitives of the store folder. Everything in it is ours: a symbolic link inside it is
 * damage (or an attack), never followed — files are opened with O_NOFOLLOW and folders checked
 * with lstat. Damaged files are never deleted: they are moved (or copied) aside under a
 * `.damaged-<ISO time>` name.
 */

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

// O_NOFOLLOW is POSIX; Windows has no symlinks a user makes by accident, and no flag.
const NOFOLLOW = fsc.O_NOFOLLOW ?? 0;
export const READ_FLAGS = fsc.O_RDONLY | NOFOLLOW;
export const APPEND_FLAGS = fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | NOFOLLOW;
export const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | NOFOLLOW;
export const CREATE_NEW_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | NOFOLLOW;
/** O_DSYNC appends: the write itself is durable. Undefined where the platform lacks it (Windows). */
export const DSYNC_APPEND_FLAGS = fsc.O_DSYNC !== undefined ? APPEND_FLAGS | fsc.O_DSYNC : undefined;

export function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** A symbolic link where a file was expected (O_NOFOLLOW fails with ELOOP; some systems say EMLINK). */
export function isLinkError(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ELOOP' || code === 'EMLINK';
}

/** The disk (or the user's quota) is full. */
export function isNoSpaceError(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT' || err instanceof ShortWriteError;
}

/** The store cannot be written at all: a read-only mount, or a folder that is not ours to write. */
export function isReadOnlyError(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'EROFS' || code === 'EACCES' || code === 'EPERM';
}

export class ShortWriteError extends Error {
  constructor(written: number, wanted: number) {
    super(`short write to the task journal (${written} of ${wanted} bytes): is the disk full?`);
  }
}

function timestampForName(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

export function damagedName(file: string): string {
  return `${file}.damaged-${timestampForName()}`;
}

/** Moves a damaged file (or link) aside under a timestamped name; never deletes it. */
export async function moveAside(file: string): Promise<string> {
  const target = damagedName(file);
  await fsp.rename(file, target);
  return target;
}

/**
 * Keeps a copy of a file that is still in use (a journal log other processes append to) before
 * it is read past. Skipped when an earlier copy already holds the first `coverBytes` bytes.
 * Returns the copy's path, or undefined when none was needed.
 */
export async function copyAside(file: string, coverBytes: number): Promise<string | undefined> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.damaged-`;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const st = await fsp.lstat(path.join(dir, name)).catch(() => undefined);
    if (st?.isFile() && st.size >= coverBytes) return undefined;
  }
  const target = damagedName(file);
  const src = await fsp.open(file, READ_FLAGS);
  try {
    const dst = await fsp.open(target, CREATE_NEW_FLAGS, FILE_MODE);
    try {
      // Copied through our own handles: fsp.copyFile would follow a link planted in the meantime.
      const buf = Buffer.allocUnsafe(1024 * 1024);
      for (let pos = 0; ; ) {
        const { bytesRead } = await src.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        await dst.write(buf, 0, bytesRead);
        pos += bytesRead;
      }
      await dst.datasync();
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
  return target;
}

/** Reads a whole file without following a link; ENOENT passes through. */
export async function readFileNoFollow(file: string): Promise<Buffer> {
  const h = await fsp.open(file, READ_FLAGS);
  try {
    return await h.readFile();
  } finally {
    await h.close();
  }
}

/**
 * Makes sure `dir/name` is a real folder of ours (0700). A link or a file in its place is moved
 * aside, and the returned notice says so.
 */
export async function ensurePrivateFolder(dir: string, name: string): Promise<string | undefined> {
  const folder = path.join(dir, name);
  let notice: string | undefined;
  const st = await fsp.lstat(folder).catch((err) => {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  });
  if (st && !st.isDirectory()) {
    // Another process opening the store at the same moment may have moved it already.
    const movedTo = await moveAside(folder).catch((err) => {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (movedTo) notice = `The task store's ${name} folder in ${dir} was ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; it was not followed, and was moved to ${movedTo}.`;
  }
  if (!st || !st.isDirectory()) {
    await fsp.mkdir(folder, { mode: DIR_MODE }).catch((err) => {
      if (errorCode(err) !== 'EEXIST') throw err; // made by another process opening the store at the same moment
    });
    if (!(await fsp.lstat(folder)).isDirectory()) throw new Error(`${folder} is not a folder`);
  } else {
    await fsp.chmod(folder, DIR_MODE).catch(() => undefined);
  }
  return notice;
}
