// What AllIN keeps per value a user chose is bounded: a Mastodon instance host is typed by whoever
// connects an account, so the adapter's per-host memory (instance metadata, OAuth discovery, app
// registrations) is an LRU with a size limit, not a Map that grows with every host ever tried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMastodon } from '../../src/providers/mastodon.ts';
import type { HttpClient, HttpRequest, HttpResponse } from '../../src/infra/http/client.ts';
import type { ProviderDeps } from '../../src/providers/types.ts';

test('Mastodon instance metadata: kept for a while per host, but not for every host ever asked about', async () => {
  const asked: string[] = [];
  const http = {
    async request(req: HttpRequest): Promise<HttpResponse> {
      asked.push(new URL(req.url).host);
      const text = JSON.stringify({ version: '4.3.0', configuration: { statuses: { max_characters: 500 } } });
      return { status: 200, headers: { 'content-type': 'application/json' }, bytes: Buffer.from(text), text, json: <T>() => JSON.parse(text) as T };
    },
  } as unknown as HttpClient;
  const mastodon = createMastodon({ http, settings: { baseUrls: { instance: 'https://{host}' } } } as unknown as ProviderDeps);
  await mastodon.instance('h0.example');
  await mastodon.instance('h0.example');
  assert.equal(asked.filter((h) => h === 'h0.example').length, 1, 'a second look within the hour is answered from memory');
  for (let i = 1; i <= 1000; i++) await mastodon.instance(`h${i}.example`);
  await mastodon.instance('h1000.example');
  assert.equal(asked.filter((h) => h === 'h1000.example').length, 1, 'a recent host is still kept');
  await mastodon.instance('h0.example');
  assert.equal(asked.filter((h) => h === 'h0.example').length, 2, 'the least recently used host was let go after 1000 others');
});
