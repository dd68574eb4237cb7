// Bounds on work in flight; a refusal is Overloaded, which the HTTP layer answers 503 with Retry-After.
// - WorkQueue: CPU-bound work admitted by its expected wait, measured as it runs (password hashing).
// - Lanes: a line per key in front of a shared queue, so one key's burst does not starve the others.
export class Overloaded extends Error {
  constructor(readonly what: string, readonly retryAfterSeconds: number) {
    super(`${what} is at capacity`);
    this.name = 'Overloaded';
  }
}

/** A moving average of how long one piece of work takes, fed as work finishes. */
class CostEstimate {
  constructor(private value: number, private readonly weight = 0.2) {}

  get ms(): number {
    return this.value;
  }

  add(ms: number): void {
    this.value += this.weight * (ms - this.value);
  }
}

/** Seconds until a queue whose expected wait is `waitMs` would take new work again (at least 1). */
function secondsUntilRoom(waitMs: number, maxWaitMs: number): number {
  return Math.max(1, Math.ceil((waitMs - maxWaitMs) / 1000));
}

export interface WorkQueueOptions {
  /** Pieces of work running at once. */
  capacity: number;
  /** The longest expected wait a new piece may face; past it, it is refused at once. */
  maxWaitMs: number;
  /** Time one piece takes until the first ones are measured. */
  initialCostMs: number;
  /** Called for each piece refused, with the Retry-After it carries. */
  onShed?: (retryAfterSeconds: number) => void;
}

/**
 * A FIFO of CPU-bound work bounded by the work it holds rather than by a timer: the expected wait of a
 * new piece is the pieces queued ahead of it times the measured time per piece, shared by the slots. A
 * burst that fits is queued whole (and served in order); one that does not is refused at once with
 * Overloaded, whose Retry-After says when the queue should have room again. Admitted work is never
 * dropped later.
 */
export class WorkQueue {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly cost: CostEstimate;
  private runs = 0;

  constructor(readonly what: string, private readonly opts: WorkQueueOptions) {
    this.cost = new CostEstimate(opts.initialCostMs);
  }

  get capacity(): number {
    return this.opts.capacity;
  }

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Pieces started since this queue was made. */
  get started(): number {
    return this.runs;
  }

  /** The moving average of one piece's run time. */
  get costMs(): number {
    return this.cost.ms;
  }

  /** How long a piece queued now is expected to wait for a slot. */
  expectedWaitMs(): number {
    if (this.active < this.opts.capacity) return 0;
    return ((this.waiting.length + 1) * this.cost.ms) / this.opts.capacity;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.opts.capacity) {
      this.active++;
    } else {
      const wait = this.expectedWaitMs();
      if (wait > this.opts.maxWaitMs) throw this.shed(wait);
      await new Promise<void>((grant) => this.waiting.push(grant));
    }
    this.runs++;
    const t0 = performance.now();
    try {
      const value = await fn();
      this.cost.add(performance.now() - t0); // failures (a malformed hash) say nothing of the cost
      return value;
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next in line
      else this.active--;
    }
  }

  private shed(waitMs: number): Overloaded {
    const retryAfter = secondsUntilRoom(waitMs, this.opts.maxWaitMs);
    this.opts.onShed?.(retryAfter);
    return new Overloaded(this.what, retryAfter);
  }
}

/**
 * One line per key (an account), at most `perKey` of its pieces running at once; the rest wait in the
 * key's own line, not in the shared queue behind it, so one key's burst never stands in front of
 * another key's work, and the shared queue (bounded by its work) holds at most `perKey` of each key. A
 * line is bounded by its length, not by time, so a burst of one key that fits is never refused for the
 * machine being slow; past `maxWaiting` the piece is refused at once, with a Retry-After from the
 * line's expected wait. A key with nothing running or waiting holds no memory.
 */
export class Lanes {
  private readonly lanes = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(readonly what: string, private readonly opts: {
    perKey: number;
    maxWaiting: number;
    /** Of one key's pieces, how many can really run at once (the shared queue's capacity, at most perKey). */
    parallel: number;
    costMs: () => number;
    onShed?: (retryAfterSeconds: number) => void;
  }) {}

  /** Keys with work running or waiting. */
  get size(): number {
    return this.lanes.size;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { active: 0, waiting: [] }));
    if (lane.active < this.opts.perKey) {
      lane.active++;
    } else {
      if (lane.waiting.length >= this.opts.maxWaiting) {
        const drainMs = (lane.waiting.length * this.opts.costMs()) / Math.min(this.opts.perKey, this.opts.parallel);
        const retryAfter = Math.max(1, Math.ceil(drainMs / 1000));
        this.opts.onShed?.(retryAfter);
        throw new Overloaded(this.what, retryAfter);
      }
      await new Promise<void>((grant) => lane.waiting.push(grant));
    }
    try {
      return await fn();
    } finally {
      const next = lane.waiting.shift();
      if (next) next();
      else if (--lane.active === 0) this.lanes.delete(key);
    }
  }
}
