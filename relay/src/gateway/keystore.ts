/**
 * Public key bundles by user, fed by the `relay.keys` topic (compacted) and by local publishes.
 * The relay stores public keys only. `get` waits a little for a bundle published through another
 * relay that this process has not consumed yet.
 */
export interface KeyBundle {
  readonly identityKey: Uint8Array;
  readonly signedPrekey: Uint8Array;
  readonly signature: Uint8Array;
}

export class KeyStore {
  #bundles = new Map<string, KeyBundle>();
  #waiters = new Map<string, Set<(b: KeyBundle) => void>>();

  set(userId: string, bundle: KeyBundle): void {
    this.#bundles.set(userId, bundle);
    const waiting = this.#waiters.get(userId);
    if (waiting !== undefined) {
      this.#waiters.delete(userId);
      for (const w of waiting) w(bundle);
    }
  }

  delete(userId: string): void {
    this.#bundles.delete(userId);
  }

  get size(): number {
    return this.#bundles.size;
  }

  async get(userId: string, waitMs: number): Promise<KeyBundle | undefined> {
    const known = this.#bundles.get(userId);
    if (known !== undefined || waitMs <= 0) return known;
    return new Promise((resolve) => {
      let set = this.#waiters.get(userId);
      if (set === undefined) this.#waiters.set(userId, (set = new Set()));
      const waiter = (b: KeyBundle) => {
        clearTimeout(timer);
        resolve(b);
      };
      const timer = setTimeout(() => {
        set.delete(waiter);
        if (set.size === 0) this.#waiters.delete(userId);
        resolve(undefined);
      }, waitMs);
      set.add(waiter);
    });
  }
}
