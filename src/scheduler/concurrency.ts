// Concurrency groups among the runs and jobs this process knows, with
// GitHub's rules: at most one running and one pending per group; a new
// pending entry cancels the older pending one; with cancel-in-progress the
// running one is cancelled too.

interface Entry {
  abort: AbortController;
  grant: (release: (() => void) | undefined) => void;
}

interface Group {
  running?: AbortController;
  pending?: Entry;
}

export class ConcurrencyGroups {
  private readonly groups = new Map<string, Group>();

  /**
   * Waits for the group. Resolves with a release function, or undefined when
   * this entry was cancelled (replaced by a newer pending one, or aborted).
   */
  acquire(name: string, cancelInProgress: boolean, abort: AbortController): Promise<(() => void) | undefined> {
    const group = this.groups.get(name) ?? {};
    this.groups.set(name, group);
    if (group.pending) {
      const old = group.pending;
      group.pending = undefined;
      old.grant(undefined);
      old.abort.abort();
    }
    if (cancelInProgress && group.running) group.running.abort();
    if (!group.running) {
      group.running = abort;
      return Promise.resolve(() => this.release(name, abort));
    }
    return new Promise((resolve) => {
      const entry: Entry = { abort, grant: resolve };
      group.pending = entry;
      abort.signal.addEventListener(
        "abort",
        () => {
          if (group.pending === entry) {
            group.pending = undefined;
            resolve(undefined);
          }
        },
        { once: true },
      );
    });
  }

  private release(name: string, holder: AbortController): void {
    const group = this.groups.get(name);
    if (!group || group.running !== holder) return;
    group.running = undefined;
    const next = group.pending;
    if (next) {
      group.pending = undefined;
      group.running = next.abort;
      next.grant(() => this.release(name, next.abort));
    } else {
      this.groups.delete(name);
    }
  }
}
