/**
 * Bookkeeping of bad input: files that could not be used (unreadable, zero-byte, truncated, not an image) and index
 * problems (empty class folders, unknown labels). Each is logged once and listed; the run stops with a clear error
 * when more than `maxBadFraction` of the files are bad, or when the first files tried are all bad.
 */

export interface SkippedFile {
  path: string;
  reason: string;
}

export class TooManyBadFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TooManyBadFilesError';
  }
}

/** With this many files tried and none good, the data is unusable whatever the allowed fraction. */
const ALL_BAD_PROBE = 100;

export class BadFileLog {
  readonly skipped: SkippedFile[] = [];
  private readonly badPaths = new Set<string>();
  private good = 0;

  constructor(
    private readonly source: string,
    private readonly totalFiles: number,
    private readonly maxBadFraction: number,
    private readonly log: (line: string) => void,
  ) {
    if (!(maxBadFraction >= 0 && maxBadFraction <= 1)) throw new Error(`maxBadFraction must be in [0, 1], got ${maxBadFraction}`);
  }

  get badFileCount(): number {
    return this.badPaths.size;
  }

  /** A problem found while indexing (not a file that failed to decode); it does not count towards the fraction. */
  addProblem(path: string, reason: string): void {
    this.skipped.push({ path, reason });
    this.log(`data: skipped ${path}: ${reason}`);
  }

  isBad(path: string): boolean {
    return this.badPaths.has(path);
  }

  recordGood(): void {
    this.good++;
  }

  /** Records a file that failed; throws TooManyBadFilesError when the limit is passed. */
  recordBad(path: string, reason: string): void {
    if (this.badPaths.has(path)) return;
    this.badPaths.add(path);
    this.skipped.push({ path, reason });
    const count = this.badPaths.size;
    this.log(`data: skipped ${path}: ${reason} (${count} bad file${count === 1 ? '' : 's'} so far)`);
    const limit = this.maxBadFraction * this.totalFiles;
    if (count > limit) {
      throw new TooManyBadFilesError(
        `${this.source}: ${count} of ${this.totalFiles} files are bad, more than the allowed fraction ${this.maxBadFraction} ` +
          `(maxBadFraction); first ones: ${this.describeFirst()}`,
      );
    }
    if (this.good === 0 && count >= Math.min(ALL_BAD_PROBE, this.totalFiles)) {
      throw new TooManyBadFilesError(`${this.source}: the first ${count} files tried are all bad; first ones: ${this.describeFirst()}`);
    }
  }

  private describeFirst(): string {
    const bad = this.skipped.filter((s) => this.badPaths.has(s.path)).slice(0, 5);
    return bad.map((s) => `${s.path} (${s.reason})`).join('; ');
  }
}
