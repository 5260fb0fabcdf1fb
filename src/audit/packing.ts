// A block's records as stored: their JSON text compressed with Zstandard by OpenSpine, so that
// PostgreSQL writes, logs and keeps a quarter of the bytes. The embedded PostgreSQL is built
// without lz4 and its own pglz cost more than the rest of an append, and writing the text as it
// was cost PostgreSQL about as much CPU per request as OpenSpine's own audit work (README, "What
// audit costs"). Compression runs on libuv's thread pool, off the event loop. zstd is in Node's
// zlib since 22.15 (marked experimental there, stable in format: RFC 8878).
import { promisify } from 'node:util';
import { constants, zstdCompress, zstdDecompress } from 'node:zlib';

const compress = promisify(zstdCompress);
const decompress = promisify(zstdDecompress);

/** Level 1: a quarter of the size, at about half a microsecond a record; higher levels gain little on such JSON. */
const LEVEL = 1;
/**
 * The most text a stored block may unpack to: a block holds at most a few hundred records of a few
 * hundred bytes, so anything near this is not one the trail wrote, and is refused rather than let
 * fill the memory (a compressed block rewritten by someone to expand without end).
 */
const MAX_UNPACKED_BYTES = 64 * 1024 * 1024;

export async function packRecords(json: string): Promise<Buffer> {
  return compress(json, { params: { [constants.ZSTD_c_compressionLevel]: LEVEL } });
}

/** The JSON text of a packed block, or undefined when the bytes are not one (someone wrote over them). */
export async function unpackRecords(packed: Uint8Array): Promise<string | undefined> {
  try {
    return (await decompress(packed, { maxOutputLength: MAX_UNPACKED_BYTES })).toString('utf8');
  } catch {
    return undefined;
  }
}
