/**
 * A counting semaphore whose size may change (it is read at every acquire and release): at most `size()` batches
 * held; waiters are served in order.
 */
export class Slots {
  private used = 0;
  private waiters: Array<() => void> = [];
  constructor(readonly size: () => number) {}

  get busy(): number {
    return this.used;
  }

  acquire(): Promise<void> {
    if (!this.waiters.length && this.used < this.size()) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    this.used--;
    // The size may have grown since the last release: let in as many as now fit.
    while (this.waiters.length && this.used < this.size()) {
      this.used++;
      this.waiters.shift()!();
    }
  }
}
