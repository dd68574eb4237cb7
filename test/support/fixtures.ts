// The people and workspaces most tests start from, made through the public API as a user would:
// a signed-in person, a workspace they own, a member added by invitation, and real PNG files of any size.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { recentMail } from '../../src/modules/mail/outbox.ts';
import type { TestApp } from './app.ts';
import type { Json } from './http.ts';

export type Role = 'owner' | 'admin' | 'editor' | 'viewer';
export interface Person { id: string; email: string; password: string; token: string }

/** Calls the API and asserts the status; returns the body. */
export async function ok(
  t: TestApp, method: string, path: string, token: string | undefined, body?: unknown, status = 200, headers?: Record<string, string>,
): Promise<Json> {
  const r = await t.call(method, path, { ...(token ? { token } : {}), ...(headers ? { headers } : {}), ...(body === undefined ? {} : { body }) });
  assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A verified user, signed in. */
export async function person(t: TestApp, opts: { email?: string; name?: string } = {}): Promise<Person> {
  const u = await t.user(opts);
  const tokens = await t.login(u.email, u.password);
  return { id: u.id, email: u.email, password: u.password, token: tokens.accessToken };
}

/** A workspace owned by `owner` (anyone signed in: only the token is used); returns its id. */
export async function newWorkspace(t: TestApp, owner: Pick<Person, 'token'>, name = 'Acme'): Promise<string> {
  return (await ok(t, 'POST', '/api/workspaces', owner.token, { name }, 201)).id;
}

/** The invitation token, read from the mail the way the invitee would. */
export async function mailedInvitationToken(t: TestApp, email: string): Promise<string> {
  const [mail] = await recentMail(t.running.services.db, { to: email, limit: 1 });
  const m = /\/invitations#token=([^\s]+)/.exec(mail?.text ?? '');
  assert.ok(m, `no invitation mail for ${email}`);
  return decodeURIComponent(m[1]!);
}

export async function invite(t: TestApp, ws: string, by: Pick<Person, 'token'>, email: string, role: Role): Promise<{ id: string; token: string }> {
  const inv = await ok(t, 'POST', `/api/workspaces/${ws}/invitations`, by.token, { email, role }, 201);
  return { id: inv.id, token: await mailedInvitationToken(t, email) };
}

/** A new signed-in member of `ws` with `role`, added through the invitation flow. */
export async function member(t: TestApp, ws: string, owner: Pick<Person, 'token'>, role: Role): Promise<Person> {
  const p = await person(t);
  const { token } = await invite(t, ws, owner, p.email, role);
  await ok(t, 'POST', '/api/invitations/accept', p.token, { token });
  return p;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An 8-bit RGB PNG; `pixels` gives one row's pixel bytes; `extra` chunks go between IHDR and IDAT. */
function rgbPng(width: number, height: number, pixels: (bytes: number) => Buffer, extra: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) rows.push(Buffer.concat([Buffer.from([0]), pixels(width * 3)]));
  return Buffer.concat([
    PNG_SIGNATURE, pngChunk('IHDR', ihdr), ...extra, pngChunk('IDAT', deflateSync(Buffer.concat(rows))), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid grey RGB PNG of the given size. */
export function greyPng(width: number, height: number): Buffer {
  return rgbPng(width, height, (n) => Buffer.alloc(n, 0x80));
}

/** A valid RGB PNG of random pixels, so it does not compress: its size grows with its area. */
export function noisyPng(width: number, height: number): Buffer {
  return rgbPng(width, height, (n) => randomBytes(n));
}

/** A valid 2×2 PNG of exactly `bytes` bytes (a private ancillary chunk pads it, as decoders allow). */
export function pngOfSize(bytes: number): Buffer {
  const bare = greyPng(2, 2).length;
  const pad = bytes - bare - 12; // a chunk's length, type and CRC
  assert.ok(pad >= 0, `a PNG cannot be smaller than ${bare + 12} bytes`);
  const file = rgbPng(2, 2, (n) => Buffer.alloc(n, 0x80), [pngChunk('prVt', Buffer.alloc(pad, 0x2a))]);
  assert.equal(file.length, bytes);
  return file;
}

/** A small MP4 the media library reads (ftyp, moov with mvhd and a video track of the given size, mdat). */
export function tinyMp4(o: { seconds?: number; width?: number; height?: number; mdatBytes?: number } = {}): Buffer {
  const box = (type: string, ...payload: Buffer[]) => {
    const body = Buffer.concat(payload);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(8 + body.length);
    head.write(type, 4, 'latin1');
    return Buffer.concat([head, body]);
  };
  const u32 = (...v: number[]) => {
    const b = Buffer.alloc(v.length * 4);
    v.forEach((x, i) => b.writeInt32BE(x | 0, i * 4));
    return b;
  };
  const identity = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];
  const mvhd = box('mvhd', Buffer.from([0, 0, 0, 0]), Buffer.alloc(8), u32(1000, Math.round((o.seconds ?? 10) * 1000)), u32(0x00010000), Buffer.from([1, 0]), Buffer.alloc(10), u32(...identity), Buffer.alloc(24), u32(2));
  const tkhd = box('tkhd', Buffer.from([0, 0, 0, 3]), Buffer.alloc(8), u32(1), Buffer.alloc(4), u32(0), Buffer.alloc(8), Buffer.alloc(8), u32(...identity), u32((o.width ?? 1280) * 65536, (o.height ?? 720) * 65536));
  const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32(0x200), Buffer.from('isomiso2avc1mp41', 'latin1'));
  return Buffer.concat([ftyp, box('moov', mvhd, box('trak', tkhd, box('mdia', Buffer.alloc(16)))), box('mdat', Buffer.alloc(o.mdatBytes ?? 2048, 7))]);
}
