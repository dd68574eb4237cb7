// Files through Slack's external upload flow (https://docs.slack.dev/messaging/working-with-files#uploading_files):
// files.getUploadURLExternal (form: filename, length, alt_txt) gives an upload URL and a file id; the bytes are POSTed
// to that URL; files.completeUploadExternal (posts.ts) then shares the files in the channel as one message, with the
// text as its initial_comment. Up to 10 files per completion (https://docs.slack.dev/reference/methods/files.completeUploadExternal,
// UNCONFIRMED that this is the exact cap); files up to 1 GB (https://docs.slack.dev/reference/methods/files.getUploadURLExternal
// says file_size_too_large; the 1 GB figure is from Slack's help centre, UNCONFIRMED in the API reference).
import { ProviderError, type MediaItem } from '../types.ts';
import type { SlackApi } from './api.ts';
import { PROVIDER } from './errors.ts';

export const MAX_FILES = 10;
export const MAX_FILE_BYTES = 1024 * 1024 * 1024;
/** alt_txt: "up to 1000 characters" (files.getUploadURLExternal). */
const MAX_ALT = 1000;

const EXT: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'video/mp4': 'mp4', 'video/quicktime': 'mov' };

export function checkFiles(media: MediaItem[]): void {
  const refuse = (why: string) => new ProviderError('permanent', `Slack: ${why}`, { provider: PROVIDER, reason: 'media_refused' });
  if (media.length > MAX_FILES) throw refuse(`a message shares at most ${MAX_FILES} files; this has ${media.length}`);
  media.forEach((m, i) => {
    if (m.bytes > MAX_FILE_BYTES) throw refuse(`file ${i + 1} is ${m.bytes} bytes; Slack takes files of at most 1 GB`);
  });
}

/** Uploads each file; the ids to share, in order. Nothing is posted yet. */
export async function uploadFiles(api: SlackApi, token: string, media: MediaItem[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, m] of media.entries()) {
    const bytes = await m.read();
    const filename = `file${i + 1}.${EXT[m.mimeType] ?? 'bin'}`;
    const alt = m.altText ? m.altText.slice(0, MAX_ALT) : undefined;
    const r = await api.write<{ upload_url?: string; file_id?: string }>(token, 'files.getUploadURLExternal', { filename, length: String(bytes.length), ...(alt ? { alt_txt: alt } : {}) }, { form: true });
    if (!r.upload_url || !r.file_id) throw new ProviderError('transient', 'Slack: files.getUploadURLExternal answered without an upload URL', { provider: PROVIDER, reason: 'malformed_response' });
    await api.upload(r.upload_url, bytes, m.mimeType);
    ids.push(r.file_id);
  }
  return ids;
}
