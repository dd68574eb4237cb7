// A counting semaphore with a bounded wait: work past capacity queues, but never for longer than
// maxWaitMs; past that the caller is refused at once (the HTTP layer answers 503 with Retry-After)
// rather than queueing for seconds behind CPU-bound work.
export class Overloaded extends Error {
  constructor(readonly what: string, readonly retryAfterSeconds: number) {
    super(`${what} is at capacity`);
    this.name = 'Overloaded';
  }
}

export class Semaphore {
  private active = 0;
  private readonly waiting: { grant: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(readonly what: string, readonly capacity: number, readonly maxWaitMs: number, readonly maxQueue = Infinity) {}

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.capacity) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxQueue || this.maxWaitMs <= 0) {
      return Promise.reject(new Overloaded(this.what, 1));
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new Overloaded(this.what, Math.max(1, Math.ceil(this.maxWaitMs / 1000))));
        }, this.maxWaitMs),
      };
      this.waiting.push(entry);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.grant(); // the slot passes straight to the next waiter
    else this.active--;
  }
}
