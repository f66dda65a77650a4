/** A pending deadline; `cancel()` it once it no longer matters. */
export interface Deadline {
  cancel(): void;
}

class Entry implements Deadline {
  at: number;
  callback: (() => void) | undefined;
  readonly #queue: DeadlineQueue;

  constructor(queue: DeadlineQueue, at: number, callback: () => void) {
    this.#queue = queue;
    this.at = at;
    this.callback = callback;
  }

  cancel(): void {
    if (this.callback === undefined) return;
    this.callback = undefined;
    this.#queue.cancelled();
  }
}

/**
 * Many deadlines on one timer: a binary heap ordered by due time, with a single `setTimeout`
 * armed for the earliest. Adding costs O(log n) and no timer when it is not the earliest (the
 * common case: request timeouts of one length); cancelling is O(1), and cancelled entries are
 * swept once they make up half the heap. The timer is unref'd: a deadline never keeps a process
 * alive on its own.
 */
export class DeadlineQueue {
  readonly #heap: Entry[] = [];
  #cancelled = 0;
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;

  /** Calls `callback` once, `delayMs` from now, unless cancelled first. */
  add(delayMs: number, callback: () => void): Deadline {
    const entry = new Entry(this, performance.now() + delayMs, callback);
    this.#push(entry);
    if (entry.at < this.#armedFor) this.#arm(entry.at);
    return entry;
  }

  /** Deadlines pending (not cancelled). */
  get size(): number {
    return this.#heap.length - this.#cancelled;
  }

  /** Cancels every pending deadline and the timer. */
  clear(): void {
    for (const entry of this.#heap) entry.callback = undefined;
    this.#heap.length = 0;
    this.#cancelled = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  /** @internal an entry was cancelled */
  cancelled(): void {
    this.#cancelled++;
    if (this.#cancelled > 64 && this.#cancelled * 2 > this.#heap.length) this.#sweep();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    // Node's timers can fire slightly before performance.now() reaches the due time.
    const now = performance.now() + 1;
    for (let top = this.#heap[0]; top !== undefined && top.at <= now; top = this.#heap[0]) {
      this.#pop();
      const callback = top.callback;
      if (callback === undefined) {
        this.#cancelled--;
        continue;
      }
      top.callback = undefined;
      callback();
    }
    this.#dropCancelledTop();
    const next = this.#heap[0];
    if (next !== undefined) this.#arm(next.at);
  };

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(this.#fire, Math.max(0, at - performance.now()));
    this.#timer.unref();
  }

  #dropCancelledTop(): void {
    for (let top = this.#heap[0]; top !== undefined && top.callback === undefined; top = this.#heap[0]) {
      this.#pop();
      this.#cancelled--;
    }
  }

  #sweep(): void {
    const live = this.#heap.filter((entry) => entry.callback !== undefined);
    this.#heap.length = 0;
    this.#cancelled = 0;
    for (const entry of live) this.#push(entry);
    if (this.#heap.length === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#armedFor = Number.POSITIVE_INFINITY;
    }
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    let index = heap.push(entry) - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = heap[parent] as Entry;
      if (above.at <= entry.at) break;
      heap[index] = above;
      index = parent;
    }
    heap[index] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as Entry;
    if (heap.length === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as Entry).at < (heap[left] as Entry).at ? right : left;
      if ((heap[child] as Entry).at >= last.at) break;
      heap[index] = heap[child] as Entry;
      index = child;
    }
    heap[index] = last;
  }
}
