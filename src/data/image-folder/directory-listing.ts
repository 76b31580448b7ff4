/**
 * Listing the directories of an image folder, with a file-list cache so that a folder of 1.28 M files is not read
 * again on every start. The cache is one JSON file per dataset root (in `cacheDir`, named by a hash of the root's
 * real path) holding, for every directory listed, its mtime and its entries. A directory whose mtime is unchanged is
 * taken from the cache (one stat instead of a readdir of ~1300 entries); adding, removing or renaming a file changes
 * its directory's mtime, which invalidates exactly that directory.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic-file.ts';

export interface DirectoryEntries {
  files: string[];
  dirs: string[];
}

interface CachedDirectory extends DirectoryEntries {
  mtimeMs: number;
}

interface CacheFile {
  version: number;
  root: string;
  directories: Record<string, CachedDirectory>;
}

const CACHE_VERSION = 1;

export class DirectoryLister {
  private readonly cached = new Map<string, CachedDirectory>();
  private readonly current = new Map<string, CachedDirectory>();
  private changed = false;
  /** Directories answered from the cache / read from disk. */
  readonly counts = { cached: 0, read: 0 };

  private constructor(
    readonly root: string,
    readonly cachePath: string | null,
  ) {}

  /** `cacheDir` null disables the cache. */
  static async open(root: string, cacheDir: string | null): Promise<DirectoryLister> {
    const real = await realpath(root);
    const cachePath = cacheDir ? join(cacheDir, `file-list-${createHash('sha1').update(real).digest('hex').slice(0, 16)}.json`) : null;
    const lister = new DirectoryLister(real, cachePath);
    if (cachePath) lister.readCache(cachePath);
    return lister;
  }

  private readCache(cachePath: string): void {
    let parsed: CacheFile;
    try {
      parsed = JSON.parse(readFileSync(cachePath, 'utf8')) as CacheFile;
    } catch {
      return; // no cache yet, or unreadable: rebuilt below
    }
    if (parsed.version !== CACHE_VERSION || parsed.root !== this.root) return;
    for (const [dir, entry] of Object.entries(parsed.directories)) this.cached.set(dir, entry);
  }

  /** Entries of `relDir` (relative to the root, '' for the root), sorted; null when it is not a directory. */
  async list(relDir: string): Promise<DirectoryEntries | null> {
    const seen = this.current.get(relDir);
    if (seen) return seen;
    const abs = join(this.root, relDir);
    let mtimeMs: number;
    try {
      const info = await stat(abs);
      if (!info.isDirectory()) return null;
      mtimeMs = info.mtimeMs;
    } catch {
      return null;
    }
    const hit = this.cached.get(relDir);
    if (hit && hit.mtimeMs === mtimeMs) {
      this.counts.cached++;
      this.current.set(relDir, hit);
      return hit;
    }
    const entries = await readdir(abs, { withFileTypes: true });
    const files: string[] = [];
    const dirs: string[] = [];
    for (const entry of entries) {
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (!isDir && !isFile) {
        // symlinks and file systems that do not report entry types
        try {
          const info = await stat(join(abs, entry.name));
          isDir = info.isDirectory();
          isFile = info.isFile();
        } catch {
          isFile = true; // a dangling link: listed, and reported when it cannot be read
        }
      }
      if (isDir) dirs.push(entry.name);
      else if (isFile) files.push(entry.name);
    }
    files.sort();
    dirs.sort();
    const listed: CachedDirectory = { mtimeMs, files, dirs };
    this.counts.read++;
    this.current.set(relDir, listed);
    this.changed = true;
    return listed;
  }

  /** Writes the cache when anything was read from disk; the cache then holds exactly the directories listed this time. */
  save(): void {
    if (!this.cachePath || (!this.changed && this.current.size === this.cached.size)) return;
    const file: CacheFile = { version: CACHE_VERSION, root: this.root, directories: Object.fromEntries(this.current) };
    writeFileAtomic(this.cachePath, JSON.stringify(file));
  }
}
