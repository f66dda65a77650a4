/** A bounded queue of jobs run with limited concurrency; `offer` refuses when full. */
export class BoundedQueue {
  readonly #capacity: number;
  readonly #concurrency: number;
  readonly #waiting: Array<() => Promise<void>> = [];
  #running = 0;
  #idle: Array<() => void> = [];

  constructor(capacity: number, concurrency: number) {
    this.#capacity = capacity;
    this.#concurrency = concurrency;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  get running(): number {
    return this.#running;
  }

  /** Queues a job; false when the queue is full. A job's failure is its own to report. */
  offer(job: () => Promise<void>): boolean {
    if (this.#waiting.length >= this.#capacity) return false;
    this.#waiting.push(job);
    this.#pump();
    return true;
  }

  /** Resolves once nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#waiting.length > 0) {
      const job = this.#waiting.shift() as () => Promise<void>;
      this.#running++;
      void job()
        .catch(() => undefined)
        .finally(() => {
          this.#running--;
          this.#pump();
          if (this.#running === 0 && this.#waiting.length === 0) for (const resolve of this.#idle.splice(0)) resolve();
        });
    }
  }
}
