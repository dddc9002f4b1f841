// An exclusive lock on a run directory: one writer at a time. The lock is a file created with O_EXCL holding the
// holder's pid, host and process start time; a lock whose holder is gone (killed, crashed, rebooted) is taken over,
// so nothing is ever left stuck. Node has no flock(), and a lock file also works on network file systems. A lock
// held from another host cannot be judged from here: the error names the file and `unlockRunDir` removes it.
import { open, unlink } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { readRegularFileAsync, RefusedFileError } from "../util/regularFile";

export const LOCK_FILE = "run.lock";

export interface LockOwner {
  pid: number;
  host: string;
  /** The holder's start time in clock ticks since boot (Linux), so a reused pid is not mistaken for the holder. */
  started: string | null;
  since: string;
}

export class RunLockedError extends Error {
  constructor(readonly dir: string, readonly owner: LockOwner) {
    super(
      `${dir} is in use by another Inversion process (pid ${owner.pid} on ${owner.host}, since ${owner.since}). ` +
        "Wait for it to finish or stop it; two writers would interleave one run's cycles." +
        (isOtherHost(owner)
          ? ` This machine (${hostname()}) cannot tell whether a process on ${owner.host} still runs: if none does (that machine ` +
            `crashed, or the directory was copied from it), remove the lock file ${join(dir, LOCK_FILE)} (\`inversion unlock ${dir}\`).`
          : ""),
    );
    this.name = "RunLockedError";
  }
}

const isOtherHost = (owner: LockOwner): boolean => owner.host !== hostname();

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime); the command name (field 2) may hold spaces, so count from its closing parenthesis.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(owner: LockOwner): boolean {
  if (isOtherHost(owner)) return true; // cannot tell: assume the other machine's holder is running
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const started = processStart(owner.pid);
  return !owner.started || !started || started === owner.started;
}

/** A lock file is a line of JSON; anything longer is not one. */
const MAX_LOCK_BYTES = 64 * 1024;

async function readOwner(path: string): Promise<{ text: string; owner: LockOwner | null } | null> {
  let text: string;
  try {
    // bounded, never blocking: a FIFO named run.lock would hold a file-system thread for ever
    text = (await readRegularFileAsync(path, MAX_LOCK_BYTES)).toString("utf8");
  } catch (err) {
    if (err instanceof RefusedFileError && err.code === "ENOENT") return null;
    throw new Error(`The lock file ${path} cannot be read: ${(err as Error).message}. Remove it if no Inversion process uses this run.`);
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return { text, owner: typeof o?.pid === "number" && typeof o.host === "string" ? o : null };
  } catch {
    // A holder killed between creating and writing the file: nobody holds it.
    return { text, owner: null };
  }
}

export interface RunLock {
  release(): Promise<void>;
}

/** Takes the lock of `dir` (which must exist) or throws RunLockedError when a live process holds it. */
export async function lockRunDir(dir: string): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), started: processStart(process.pid), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, "wx");
      try {
        await fh.writeFile(JSON.stringify(me) + "\n");
      } finally {
        await fh.close();
      }
      return { release: () => unlink(path).catch(() => undefined) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const held = await readOwner(path);
    if (!held) continue;
    if (held.owner && isAlive(held.owner)) throw new RunLockedError(dir, held.owner);
    // Stale: remove it only if it is still the same stale file, then race for it again with O_EXCL.
    const again = await readOwner(path);
    if (again?.text === held.text) await unlink(path).catch(() => undefined);
  }
  throw new Error(`Could not lock ${dir}: its lock file ${path} keeps changing.`);
}

/**
 * Removes the lock of `dir` when no process on this machine holds it: one held from another host (which this machine
 * cannot judge; whoever asks asserts it is gone), or a stale one. Returns the holder it named (null when it named
 * none, undefined when there was no lock); a live holder on this machine is refused with RunLockedError.
 */
export async function unlockRunDir(dir: string): Promise<LockOwner | null | undefined> {
  const path = join(dir, LOCK_FILE);
  const held = await readOwner(path);
  if (!held) return undefined;
  if (held.owner && !isOtherHost(held.owner) && isAlive(held.owner)) throw new RunLockedError(dir, held.owner);
  await unlink(path);
  return held.owner;
}
