/** Hands out GPU ids to jobs: a job waits (first come, first served) until as many GPUs as it needs are free. */
export class GpuPool {
  private readonly free: string[];
  private readonly waiting: { count: number; grant: (ids: string[]) => void }[] = [];

  constructor(readonly ids: readonly string[]) {
    this.free = [...ids];
  }

  /** Resolves with `count` GPU ids; rejects at once when the pool will never have that many. */
  acquire(count: number): Promise<string[]> {
    if (count > this.ids.length) {
      return Promise.reject(
        new Error(`needs ${count} GPU(s), only ${this.ids.length} available (${this.ids.join(',') || 'none'})`),
      );
    }
    return new Promise((grant) => {
      this.waiting.push({ count, grant });
      this.grantWaiting();
    });
  }

  release(ids: readonly string[]): void {
    this.free.push(...ids);
    this.free.sort((a, b) => this.ids.indexOf(a) - this.ids.indexOf(b));
    this.grantWaiting();
  }

  private grantWaiting(): void {
    while (this.waiting.length > 0 && this.waiting[0]!.count <= this.free.length) {
      const next = this.waiting.shift()!;
      next.grant(this.free.splice(0, next.count));
    }
  }
}
