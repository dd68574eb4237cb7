// What an adapter sent under each marker, for networks that have no client key to find a post by:
// kept in memory for a while so that an unknown outcome can be reconciled by matching what was sent.
// Oldest entries go first (a Map iterates in insertion order); a retried marker keeps its first send time.
export class SentPosts<T extends object> {
  private readonly byMarker = new Map<string, T & { firstSentAt: number }>();

  constructor(private readonly ttlMs = 48 * 3600_000, private readonly max = 20_000) {}

  get(marker: string): (T & { firstSentAt: number }) | undefined {
    const a = this.byMarker.get(marker);
    if (a && a.firstSentAt < Date.now() - this.ttlMs) {
      this.byMarker.delete(marker);
      return undefined;
    }
    return a;
  }

  /** Records a send under the marker, keeping the first send time of a retried marker. */
  record(marker: string, a: T): T & { firstSentAt: number } {
    const prev = this.get(marker);
    const next = { ...a, firstSentAt: prev?.firstSentAt ?? Date.now() };
    this.byMarker.delete(marker);
    this.byMarker.set(marker, next);
    for (const [k, v] of this.byMarker) {
      if (this.byMarker.size <= this.max && v.firstSentAt >= Date.now() - this.ttlMs) break;
      this.byMarker.delete(k);
    }
    return next;
  }
}
