// channel.ts: the wire constants both ends agree on (chunk size, message limit, receive
// window) and the channel options every client of the server uses. The server's side of the
// same tuning (its options and the flow-control hook) is server/rpc/transport.ts, which takes
// its numbers from here, so what the benchmarks call "tuned raw grpc-js" is what both ends run.
import type * as grpc from '@grpc/grpc-js';

/** Largest data payload of one transport message (the chunk size of tensor streams). */
export const MAX_CHUNK_BYTES = 1 << 20;

/**
 * Receive window (bytes) per stream and per connection on both ends. Measured on this 2-core
 * VM, raw grpc-js moving 64 MiB between two plain-node processes in 1 MiB messages, all
 * window sizes interleaved in one run, medians (pull / push GB/s): grpc-js default 64 KiB
 * 0.50 / 0.47; 1 MiB 1.6-1.85 / 1.65-1.9; 4 MiB 1.8-2.0 / 1.4-1.7; 16 MiB 1.6-1.9 / 1.4;
 * 64 MiB 1.7-1.8 / 1.2-1.3. Pulls flatten from 1 MiB up, pushes get worse past it: a bigger
 * window lets the sender queue more frames than the receiving event loop drains. 1 MiB still
 * allows 5 GB/s at 0.2 ms RTT; raise it (both helpers take a size) for high-latency links.
 */
export const FLOW_CONTROL_WINDOW_BYTES = 1 << 20;

/**
 * Largest single gRPC message either end accepts. A message holds at most one 1 MiB chunk
 * plus a header (whose row-id list is bounded by the request that asked for it), so 8 MiB is
 * ample; tensors never depend on this limit because they are chunked.
 */
export const MAX_MESSAGE_BYTES = 8 << 20;

/** Channel options for every client of the server (product client and benchmarks). */
export function clientChannelOptions(
  windowBytes: number = FLOW_CONTROL_WINDOW_BYTES,
  overrides: grpc.ChannelOptions = {},
): grpc.ChannelOptions {
  return {
    // Raises the client's per-stream initial window and its connection window (grpc-js >= 1.14).
    'grpc-node.flow_control_window': windowBytes,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...overrides,
  };
}
