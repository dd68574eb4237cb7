// Server-Sent Events as a model provider streams them (WHATWG HTML, "Parsing an event stream":
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream): lines ending in
// LF, CRLF or CR; `event:` and `data:` fields (several data lines joined by LF); comments start with ":";
// a blank line dispatches. Fed in arbitrary chunks, since a chunk may end anywhere, even inside a character.
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  /** The `event:` field, or "message" when there was none. */
  event: string;
  data: string;
}

export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private event = '';
  private data: string[] = [];
  /** A CR ended the last chunk: an LF opening the next one belongs to the same line end. */
  private pendingCr = false;

  constructor(private readonly onEvent: (e: SseEvent) => void, private readonly maxLineChars = 1024 * 1024) {}

  push(chunk: Buffer): void {
    let text = this.decoder.write(chunk);
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) this.pendingCr = true;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
    if (this.buffer.length > this.maxLineChars) throw new SseTooLong(this.maxLineChars);
  }

  /** The stream ended: an event without its blank line is dropped, as the specification says. */
  end(): void {
    this.buffer += this.decoder.end();
    this.buffer = '';
    this.data = [];
    this.event = '';
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ event: this.event || 'message', data: this.data.join('\n') });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    // id and retry are of no use to a one-shot answer.
  }
}

export class SseTooLong extends Error {
  constructor(max: number) {
    super(`a line of the event stream is longer than ${max} characters`);
    this.name = 'SseTooLong';
  }
}
