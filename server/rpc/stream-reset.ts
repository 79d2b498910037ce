// stream-reset.ts: resets one call's HTTP/2 stream (RST_STREAM ENHANCE_YOUR_CALM), for a read
// whose client stopped reading: its status would wait forever behind the unread messages, and
// the messages stay buffered. grpc-js has no public call for it, so this reaches the Node
// http2 stream through its call objects (the `call` chain of grpc-js 1.10 to 1.14); if they
// change, it logs a warning and the stream stays until the connection ends (keepalive bounds a
// dead one). grpc-js clients report this reset as RESOURCE_EXHAUSTED.
import * as http2 from 'node:http2';
import type { Logger } from 'pino';

interface CallLink {
  call?: unknown;
  nextCall?: unknown;
  stream?: unknown;
}

/** The Node http2 stream beneath a grpc-js server call object, or null. */
function http2StreamOf(call: unknown): http2.ServerHttp2Stream | null {
  let node: unknown = call;
  for (let depth = 0; depth < 8 && node !== null && typeof node === 'object'; depth++) {
    const link = node as CallLink;
    const stream = link.stream as Partial<http2.ServerHttp2Stream> | undefined;
    if (stream !== undefined && typeof stream.close === 'function' && 'rstCode' in stream)
      return stream as http2.ServerHttp2Stream;
    node = link.call ?? link.nextCall;
  }
  return null;
}

let warned = false;

export function resetStream(call: unknown, log: Logger): void {
  const stream = http2StreamOf(call);
  if (stream === null) {
    if (!warned) {
      warned = true;
      log.warn(
        'cannot reset a stalled stream: @grpc/grpc-js call internals changed; it stays open until its connection ends',
      );
    }
    return;
  }
  if (!stream.destroyed && !stream.closed) stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
}
