// Concurrency groups with GitHub's rules — at most one running and one
// pending per group; a new pending entry cancels the older pending one; with
// cancel-in-progress the running one is cancelled too — across every process
// sharing the store: the claims are rows (store: concurrency_claims), so two
// `slipway run`s (two pushes to a server, two terminals) obey one group.
//
// A process watches its own claims every `pollMs`: a pending claim turned
// running is granted, one turned cancelled (or gone) is refused, and a
// running claim asked to cancel aborts its holder. Groups are per
// repository, as on GitHub (`scope`).
import type { ConcurrencyClaim, Store } from "../store/index.js";

interface Watched {
  claim: number;
  abort: AbortController;
  /** Pending: resolves the acquire. */
  grant?: (release: (() => void) | undefined) => void;
}

export class ConcurrencyGroups {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    /** This process, `<host>:<pid>`. */
    private readonly holder: string,
    /** The repository, `owner/name`: groups of other repositories never meet. */
    private readonly scope: string,
    private readonly alive: (holder: string) => boolean,
    private readonly pollMs = 100,
  ) {}

  /**
   * Waits for the group. Resolves with a release function, or undefined when
   * this entry was cancelled (replaced by a newer pending one, or aborted).
   */
  acquire(name: string, cancelInProgress: boolean, abort: AbortController): Promise<(() => void) | undefined> {
    const claim = this.store.claimConcurrency(`${this.scope}\n${name}`, this.holder, cancelInProgress, this.alive);
    const w: Watched = { claim: claim.id, abort };
    this.watched.add(w);
    this.tick();
    const release = () => this.release(w);
    if (claim.state === "running") return Promise.resolve(release);
    return new Promise((resolve) => {
      w.grant = (r) => {
        w.grant = undefined;
        resolve(r);
      };
      abort.signal.addEventListener("abort", () => w.grant && this.refuse(w), { once: true });
    });
  }

  private release(w: Watched): void {
    if (!this.watched.delete(w)) return;
    this.store.releaseConcurrency(w.claim);
    this.tick();
  }

  private refuse(w: Watched): void {
    this.watched.delete(w);
    this.store.releaseConcurrency(w.claim);
    w.grant?.(undefined);
    this.tick();
  }

  /** Polls while there is something to watch. */
  private tick(): void {
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer) return;
    this.timer = setInterval(() => this.poll(), this.pollMs);
  }

  private poll(): void {
    for (const w of [...this.watched]) {
      let c: ConcurrencyClaim | undefined;
      try {
        c = this.store.checkConcurrency(w.claim, this.alive);
      } catch {
        continue; // The store is busy: next time.
      }
      if (w.grant) {
        if (c?.state === "running") w.grant(() => this.release(w));
        else if (!c || c.state === "cancelled") {
          // Replaced by a newer pending entry.
          this.refuse(w);
          w.abort.abort();
        }
      } else if (c?.cancelRequested && !w.abort.signal.aborted) {
        w.abort.abort();
      }
    }
  }
}
