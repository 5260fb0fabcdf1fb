// A block's records as stored: their JSON text compressed with Zstandard by OpenSpine, so that
// PostgreSQL writes, logs and keeps a quarter of the bytes. The embedded PostgreSQL is built
// without lz4 and its own pglz cost more than the rest of an append, and writing the text as it
// was cost PostgreSQL about as much CPU per request as OpenSpine's own audit work (README, "What
// audit costs"). zstd is in Node's zlib since 22.15 (marked experimental there; its format is
// RFC 8878's).
//
// Synchronous on purpose: a block of a few hundred records compresses in about 100 µs, while
// zlib's asynchronous path spent more than that on the event loop alone setting up its stream and
// thread-pool job, and twice the CPU in all (measured on Node 24, 2026-11-22).
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';

/** Level 1: a quarter of the size, at about half a microsecond a record; higher levels gain little on such JSON. */
const LEVEL = 1;
/**
 * The most text a stored block may unpack to: a block holds at most a few hundred records of a few
 * hundred bytes, so anything near this is not one the trail wrote, and is refused rather than let
 * fill the memory (a compressed block rewritten by someone to expand without end).
 */
const MAX_UNPACKED_BYTES = 64 * 1024 * 1024;
/**
 * The most characters a block's text is written with: at most three bytes each in UTF-8, so that
 * every block written unpacks within MAX_UNPACKED_BYTES (src/audit/trail.ts splits a batch past it).
 */
export const MAX_BLOCK_CHARACTERS = Math.floor(MAX_UNPACKED_BYTES / 4);

export function packRecords(json: string): Buffer {
  return zstdCompressSync(json, { params: { [constants.ZSTD_c_compressionLevel]: LEVEL } });
}

/** The JSON text of a packed block, or undefined when the bytes are not one (someone wrote over them). */
export function unpackRecords(packed: Uint8Array): string | undefined {
  try {
    return zstdDecompressSync(packed, { maxOutputLength: MAX_UNPACKED_BYTES }).toString('utf8');
  } catch {
    return undefined;
  }
}
