// What an outbound call ends with when it got no usable answer: the HTTP client's and the WebSocket
// conversation's failures alike, each saying whether the request may have reached the other side.
/** A call that got no (usable) HTTP answer. `sent` tells whether the request may have reached the network. */
export class TransportError extends Error {
  constructor(readonly reason: 'timeout' | 'connect' | 'reset' | 'blocked_host' | 'too_large' | 'other', readonly sent: boolean, message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

/** The deadline of a try ran out, or the caller's signal ended the call (a publish attempt's ceiling). */
export class DeadlineError extends TransportError {
  readonly code = 'ALLIN_HTTP_DEADLINE';
  constructor(sent: boolean, readonly limitMs: number | null, message: string) {
    super('timeout', sent, message);
    this.name = 'DeadlineError';
  }
}

/** The answer's headers or body were larger than allowed; reading stopped there. The request was sent. */
export class ResponseTooLargeError extends TransportError {
  readonly code = 'ALLIN_HTTP_RESPONSE_TOO_LARGE';
  constructor(readonly part: 'headers' | 'body', readonly limit: number, readonly received: number | null) {
    super('too_large', true, part === 'headers'
      ? `the answer's headers were larger than ${limit} bytes`
      : `the answer's body was larger than ${limit} bytes${received === null ? ' (by its Content-Length)' : ''}`);
    this.name = 'ResponseTooLargeError';
  }
}
