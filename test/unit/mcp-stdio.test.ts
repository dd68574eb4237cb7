// `allin mcp`'s settings: the key is required and must look like one, and it is never sent in the clear to
// another machine unless the operator says the network is trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StdioConfigError, stdioSettings } from '../../src/modules/mcp/stdio.ts';

const KEY = `allin_AAAAAAAA_${'A'.repeat(43)}`;

test('the endpoint is /mcp under ALLIN_URL, keeping its path; this machine by default', () => {
  assert.equal(stdioSettings({ ALLIN_API_KEY: KEY }).endpoint.href, 'http://localhost:7000/mcp');
  assert.equal(stdioSettings({ ALLIN_API_KEY: KEY, ALLIN_URL: 'https://social.example.com' }).endpoint.href, 'https://social.example.com/mcp');
  assert.equal(stdioSettings({ ALLIN_API_KEY: KEY, ALLIN_URL: 'https://example.com/allin' }).endpoint.href, 'https://example.com/allin/mcp');
  assert.equal(stdioSettings({ ALLIN_API_KEY: ` ${KEY} ` }).apiKey, KEY);
});

test('refused: no key, not a key, a URL that is none, credentials in the URL, plain http to another machine', () => {
  const refused = (env: NodeJS.ProcessEnv, message: RegExp) => assert.throws(() => stdioSettings(env), (e: unknown) => e instanceof StdioConfigError && message.test(e.message));
  refused({}, /ALLIN_API_KEY is not set/);
  refused({ ALLIN_API_KEY: 'sk-123' }, /not an AllIN API key/);
  refused({ ALLIN_API_KEY: KEY, ALLIN_URL: 'social' }, /not a URL/);
  refused({ ALLIN_API_KEY: KEY, ALLIN_URL: 'ftp://example.com' }, /http or https/);
  refused({ ALLIN_API_KEY: KEY, ALLIN_URL: 'https://me:pw@example.com' }, /credentials/);
  refused({ ALLIN_API_KEY: KEY, ALLIN_URL: 'http://social.example.com' }, /unencrypted/);
  assert.equal(stdioSettings({ ALLIN_API_KEY: KEY, ALLIN_URL: 'http://10.0.0.5:7000', ALLIN_MCP_ALLOW_HTTP: '1' }).endpoint.href, 'http://10.0.0.5:7000/mcp');
  assert.equal(stdioSettings({ ALLIN_API_KEY: KEY, ALLIN_URL: 'http://127.0.0.1:7000' }).endpoint.protocol, 'http:');
});
