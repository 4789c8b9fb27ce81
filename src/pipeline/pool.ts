/** A counting semaphore: at most `size` batches in flight; waiters are served in order. */
export class Slots {
  private free: number;
  private waiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  constructor(readonly size: number) {
    this.free = size;
  }

  get busy(): number {
    return this.size - this.free;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else {
      this.free++;
      if (this.free === this.size) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    if (this.free === this.size) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
