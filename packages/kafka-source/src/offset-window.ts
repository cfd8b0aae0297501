/**
 * The records of one partition that were started but not yet committable, for unordered delivery: records finish in
 * any order, but the commit point only moves over a contiguous run of finished records, so it never passes a record
 * still in flight (or given up on). Offsets must be started in ascending order.
 */
export class OffsetWindow {
  readonly #offsets: string[] = [];
  readonly #done: boolean[] = [];
  #head = 0;

  /** Started records not yet released by the commit point (finished ones waiting behind a slower one included). */
  get size(): number {
    return this.#offsets.length - this.#head;
  }

  /** Registers a record as started. */
  start(offset: string): void {
    this.#offsets.push(offset);
    this.#done.push(false);
  }

  /**
   * Marks a record finished. Returns the highest offset whose record and all earlier ones are finished, when that
   * moved (the caller resolves it), else undefined.
   */
  finish(offset: string): string | undefined {
    const i = this.#offsets.indexOf(offset, this.#head);
    if (i < 0) return undefined;
    this.#done[i] = true;
    let last: string | undefined;
    while (this.#head < this.#offsets.length && this.#done[this.#head]) {
      last = this.#offsets[this.#head];
      this.#head++;
    }
    if (this.#head > 1024) {
      // Drop released entries now and then so a long batch does not keep them all.
      this.#offsets.splice(0, this.#head);
      this.#done.splice(0, this.#head);
      this.#head = 0;
    }
    return last;
  }
}
