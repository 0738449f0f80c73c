/**
 * A counting semaphore: at most `size` holders at once. Waiters with a higher
 * priority go first (the critical path, see engine/critical-path.ts); equal
 * priorities in arrival order.
 */
export class Semaphore {
  private active = 0;
  private seq = 0;
  private readonly waiting: Array<{ priority: number; seq: number; resolve: () => void }> = [];

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`slot count must be a positive integer, got ${size}`);
  }

  async acquire(priority = 0): Promise<void> {
    if (this.active < this.size) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push({ priority, seq: this.seq++, resolve }));
  }

  release(): void {
    if (this.waiting.length === 0) {
      this.active--;
      return;
    }
    let best = 0;
    for (let i = 1; i < this.waiting.length; i++) {
      const w = this.waiting[i] as (typeof this.waiting)[number];
      const b = this.waiting[best] as (typeof this.waiting)[number];
      if (w.priority > b.priority || (w.priority === b.priority && w.seq < b.seq)) best = i;
    }
    const [next] = this.waiting.splice(best, 1);
    next?.resolve();
  }
}
