// Sources hand the pipeline Buffers of whole lines: each chunk ends with '\n' and holds
// one or more lines. A follower commits its checkpoint for a chunk only when the consumer
// asks for the next one, i.e. after that chunk's effects are done.
export interface ChunkSource {
  chunks(signal?: AbortSignal): AsyncIterable<Buffer>;
  /** Lines dropped whole since the last call, being longer than MAX_LINE_BYTES (counted as `oversized`). */
  takeOversized?(): number;
}
