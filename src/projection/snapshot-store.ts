// A directory of snapshots: write a new one, keep the last N, and on start load the
// newest one that is good. A bad snapshot (corrupt, truncated, written by another
// version) is skipped with a warning and the next older one is tried: losing a snapshot
// costs a longer catch-up from Kafka, never wrong tables.
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { SnapshotError } from './errors.js';
import type { Projection } from './projection.js';
import type { SnapshotInfo, SnapshotOffset } from './snapshot.js';

const NAME = /^projection-(\d{12})\.lqsnap$/;
const TEMP = /^projection-\d{12}\.lqsnap\.tmp-\d+$/;

export interface SnapshotStoreOptions {
  dir: string;
  /** Snapshots kept after a successful write (default 3). */
  keep?: number;
  logger?: Logger;
}

export class SnapshotStore {
  private readonly dir: string;
  private readonly keep: number;
  private readonly log: Logger;

  constructor(options: SnapshotStoreOptions) {
    this.dir = options.dir;
    this.keep = Math.max(1, options.keep ?? 3);
    this.log = options.logger ?? silentLogger;
  }

  /** Snapshot file paths, newest first (by the sequence number in the name). */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .filter((n) => NAME.test(n))
      .sort()
      .reverse()
      .map((n) => join(this.dir, n));
  }

  /** Writes the next snapshot, then deletes all but the newest `keep` (and stray temp files). */
  async write(projection: Projection, offsets: readonly SnapshotOffset[]): Promise<SnapshotInfo> {
    await mkdir(this.dir, { recursive: true });
    const existing = await this.list();
    const last = existing.length > 0 ? Number(NAME.exec(basename(existing[0]))![1]) : 0;
    const path = join(this.dir, `projection-${String(last + 1).padStart(12, '0')}.lqsnap`);
    const info = await projection.snapshot(path, offsets);
    for (const old of [path, ...existing].slice(this.keep)) await unlink(old).catch(() => {});
    for (const n of await readdir(this.dir)) if (TEMP.test(n) && !n.includes(`.tmp-${process.pid}`)) await unlink(join(this.dir, n)).catch(() => {});
    return info;
  }

  /**
   * Loads the newest good snapshot into `projection`; returns its path and offsets, or
   * undefined when there is none (rebuild from the earliest offset).
   */
  async loadNewest(projection: Projection): Promise<{ path: string; offsets: SnapshotOffset[] } | undefined> {
    for (const path of await this.list()) {
      try {
        const offsets = await projection.loadSnapshot(path);
        this.log.info({ path, bindings: projection.stats().bindings }, 'snapshot loaded');
        return { path, offsets };
      } catch (err) {
        if (!(err instanceof SnapshotError)) throw err;
        this.log.warn({ path, reason: err.reason, err: err.message }, 'skipping bad snapshot');
      }
    }
    return undefined;
  }
}
