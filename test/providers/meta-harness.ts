// Shared by the tests of the adapters on Meta's container flow (Instagram, Threads): the simulator and a
// media host serving the files Meta downloads by URL, the adapter with a poll of a given patience, media
// of each kind, an account signed in through OAuth, and the test of the wait's cap.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { ProviderError, type AccountRef, type MediaItem, type Provider } from '../../src/providers/types.ts';
import type { PollOptions } from '../../src/providers/meta-graph.ts';
import type { HttpClient } from '../../src/infra/http/client.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';
import { SAMPLE_JPEG, SAMPLE_MP4, startMediaHost } from '../../tools/provider-sim/networks/meta-common.ts';

export const kindOf = (e: unknown) => (e instanceof ProviderError ? e.kind : String(e));
export const reasonOf = (e: unknown) => (e instanceof ProviderError ? e.details.reason ?? '' : '');
export const ago = () => new Date(Date.now() - 60_000);

export interface MetaHarness {
  readonly h: Harness;
  readonly host: Awaited<ReturnType<typeof startMediaHost>>;
  /** The adapter the tests use: patient enough never to reach the wait's cap. */
  readonly p: Provider;
  sim(): NetworkState;
  adapter(poll: PollOptions): Provider;
  /** Container status reads the simulator saw since log entry `from`. */
  statusReads(from?: number): number;
  image(path?: string, altText?: string): MediaItem;
  video(path?: string): MediaItem;
  account(loginHint?: string): Promise<AccountRef>;
}

/** Registers the file's before/after hooks; what they start is read through the returned object. */
export function useMetaHarness(opts: {
  network: 'instagram' | 'threads';
  create: (http: HttpClient, base: string, poll: PollOptions) => Provider;
  /** What a status read's path holds (the field each network asks for). */
  statusField: string;
  imageAltText?: string;
  videoSeconds: number;
  /** Called once the hooks have started everything (to keep the adapter in a variable of the file). */
  ready?: (m: MetaHarness) => void;
}): MetaHarness {
  let h: Harness | undefined;
  let host: MetaHarness['host'] | undefined;
  let p: Provider | undefined;
  const ready = <T>(v: T | undefined): T => {
    assert.ok(v !== undefined, 'the Meta harness is used before its hooks ran');
    return v;
  };
  const m: MetaHarness = {
    get h() { return ready(h); },
    get host() { return ready(host); },
    get p() { return ready(p); },
    sim: () => ready(h).sim.state(opts.network),
    adapter: (poll) => opts.create(ready(h).http, ready(h).sim.base(opts.network), poll),
    statusReads: (from = 0) => m.sim().log.slice(from).filter((l) => l.path.includes(`fields=${opts.statusField}`)).length,
    image: (path = '/photo.jpg', altText = opts.imageAltText) => ({
      mimeType: 'image/jpeg', bytes: SAMPLE_JPEG.length, read: async () => SAMPLE_JPEG, publicUrl: m.host.url(path), ...(altText ? { altText } : {}),
    }),
    video: (path = '/clip.mp4') => ({ mimeType: 'video/mp4', bytes: SAMPLE_MP4.length, durationSeconds: opts.videoSeconds, read: async () => SAMPLE_MP4, publicUrl: m.host.url(path) }),
    async account(loginHint = 'u1') {
      const { tokens } = await authorize(m.p, { loginHint });
      const [id] = await m.p.identities(tokens);
      return { externalId: id!.externalId, username: id!.username, tokens, data: id!.data ?? {} };
    },
  };
  before(async () => {
    h = await harness();
    host = await startMediaHost({
      '/photo.jpg': { type: 'image/jpeg', body: SAMPLE_JPEG },
      '/clip.mp4': { type: 'video/mp4', body: SAMPLE_MP4 },
      '/broken.mp4': { type: 'video/mp4', body: Buffer.from('this is not a video') },
    });
    // The simulator's containers finish after a set number of status reads, not on a clock (meta-common.ts,
    // PROCESSING_READS): the wait's cap is reached only where a test holds processing, so it is long here and
    // short in the test of the cap.
    p = m.adapter({ intervalMs: 20, maxWaitMs: 60_000 });
    opts.ready?.(m);
  });
  after(async () => {
    await host?.stop();
    await h?.stop();
  });
  return m;
}

/**
 * A video container held IN_PROGRESS past an impatient adapter's cap: transient, the publish call
 * (`publishPath`) never sent, and nothing to reconcile.
 */
export async function assertWaitCap(m: MetaHarness, publishPath: string): Promise<void> {
  const a = await m.account('patient');
  const s = m.sim();
  const impatient = m.adapter({ intervalMs: 5, maxWaitMs: 40 });
  const mark = s.log.length;
  s.knobs.holdProcessing = true;
  try {
    await assert.rejects(impatient.publish(a, { text: 'Held', media: [m.video()], marker: 'cap-1' }),
      (e) => kindOf(e) === 'transient' && reasonOf(e) === 'container_in_progress');
  } finally {
    s.knobs.holdProcessing = false;
  }
  assert.ok(m.statusReads(mark) >= 1, 'the status was read before giving up');
  assert.ok(!s.log.slice(mark).some((l) => l.method === 'POST' && l.path.includes(publishPath)), `${publishPath} was not sent`);
  assert.equal(await impatient.findByMarker(a, 'cap-1', ago()), null);
}
