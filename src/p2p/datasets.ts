/**
 * `/modelex/dataset/1.0.0`: data sets shared by hash (`src/core/datasets.ts`). The asker sends one JSON frame
 * `{ hash }`; a node that has the bytes answers `{ status: 'found', size }` and then the bytes in frames of at most
 * `DATASET_CHUNK_BYTES`, else `{ status: 'unknown' }`, and closes. The asker refuses a size above its limit before
 * any byte arrives, counts what arrives against the announced size, and recomputes the hash over the whole
 * (`DatasetHashMismatchError` for other bytes): a peer can withhold a data set, never substitute one.
 *
 * @example
 * const stop = await serveDatasets(node, store)                 // store: { get(hash) => bytes | null }
 * const bytes = await fetchDataset(other, peerId, hash)        // null when the peer does not have it
 */
import type { PeerId } from '@libp2p/interface'
import type { Hex } from 'viem'
import { datasetHash, DATASET_LIMITS } from '../core/datasets.ts'
import { DatasetHashMismatchError, DatasetUnavailableError } from '../core/errors/oracle.ts'
import { MalformedMessageError } from '../core/errors/p2p.ts'
import { decodeJson, encodeJson, fail, integer, object, oneOf, only, string } from '../core/wire/check.ts'
import { encodeFrame } from '../core/wire/frame.ts'
import { connectToPeer } from './dial.ts'
import { readFrames, sendFrame } from './frames.ts'
import type { ModelexNode } from './node.ts'

export const DATASET_PROTOCOL = '/modelex/dataset/1.0.0'
/** Bytes per data frame: small enough for a relayed connection's window, large enough to keep round trips few. */
export const DATASET_CHUNK_BYTES = 64 * 1024
const MAX_CONTROL_FRAME_BYTES = 256

const HASH = /^0x[0-9a-f]{64}$/

export type DatasetRequest = { hash: Hex }
export type DatasetHeader = { status: 'found'; size: number } | { status: 'unknown' }

/** Where served data sets come from. */
export type DatasetSource = { get(hash: Hex): Promise<Uint8Array | null> }

/** A request frame, strictly: `MalformedMessageError` otherwise. */
export function decodeDatasetRequest(value: unknown): DatasetRequest {
  const fields = object(value, 'request')
  only(fields, 'request', ['hash'])
  const hash = string(fields['hash'], 'request.hash', 66, 66)
  if (!HASH.test(hash)) fail('request.hash', 'a lower-case 0x keccak256 hash')
  return { hash: hash as Hex }
}

/** The answer's first frame, strictly; a size above `maxBytes` is refused before any data is read. */
export function decodeDatasetHeader(value: unknown, maxBytes: number): DatasetHeader {
  const fields = object(value, 'answer')
  const status = oneOf(fields['status'], 'answer.status', ['found', 'unknown'] as const)
  if (status === 'unknown') {
    only(fields, 'answer', ['status'])
    return { status }
  }
  only(fields, 'answer', ['status', 'size'])
  return { status, size: integer(fields['size'], 'answer.size', 0, maxBytes) }
}

/** Serves the source's data sets until the returned function is called. A malformed request closes its stream, unanswered. */
export async function serveDatasets(
  node: ModelexNode,
  source: DatasetSource,
  options: { maxInboundStreams?: number } = {},
): Promise<() => Promise<void>> {
  await node.libp2p.handle(
    DATASET_PROTOCOL,
    async (stream) => {
      const reader = readFrames(stream, MAX_CONTROL_FRAME_BYTES)
      try {
        const first = await reader.next()
        if (!(first instanceof Uint8Array)) return
        const { hash } = decodeDatasetRequest(decodeJson(first))
        const bytes = await source.get(hash)
        // Never serve bytes that are not what was asked for (a corrupted store would otherwise be blamed on us).
        if (!bytes || bytes.length > DATASET_LIMITS.maxBytes || datasetHash(bytes) !== hash) {
          await sendFrame(stream, encodeFrame(encodeJson({ status: 'unknown' }), MAX_CONTROL_FRAME_BYTES))
        } else {
          await sendFrame(
            stream,
            encodeFrame(encodeJson({ status: 'found', size: bytes.length }), MAX_CONTROL_FRAME_BYTES),
          )
          for (let offset = 0; offset < bytes.length; offset += DATASET_CHUNK_BYTES) {
            await sendFrame(
              stream,
              encodeFrame(bytes.subarray(offset, offset + DATASET_CHUNK_BYTES), DATASET_CHUNK_BYTES),
            )
          }
        }
        await stream.close({ signal: AbortSignal.timeout(10_000) })
      } catch (error) {
        stream.abort(error instanceof Error ? error : new Error(String(error)))
      } finally {
        reader.dispose()
      }
    },
    { runOnLimitedConnection: true, maxInboundStreams: options.maxInboundStreams ?? 8 },
  )
  return () => node.libp2p.unhandle(DATASET_PROTOCOL)
}

export type FetchDatasetOptions = { timeoutMs?: number; maxBytes?: number }

/** Asks `peer` for the data set of `hash`: its verified bytes, or null when the peer does not have it. */
export async function fetchDataset(
  node: ModelexNode,
  peer: PeerId | string,
  hash: Hex,
  { timeoutMs = 30_000, maxBytes = DATASET_LIMITS.maxBytes }: FetchDatasetOptions = {},
): Promise<Uint8Array | null> {
  const requested = hash.toLowerCase() as Hex
  const signal = AbortSignal.timeout(timeoutMs)
  const connection = await connectToPeer(node, peer.toString(), { signal })
  const stream = await connection.newStream(DATASET_PROTOCOL, { signal, runOnLimitedConnection: true })
  const reader = readFrames(stream, Math.max(DATASET_CHUNK_BYTES, MAX_CONTROL_FRAME_BYTES))
  try {
    await sendFrame(stream, encodeFrame(encodeJson({ hash: requested }), MAX_CONTROL_FRAME_BYTES), signal)
    const first = await reader.next()
    if (!(first instanceof Uint8Array))
      throw new MalformedMessageError(`${DATASET_PROTOCOL}: the stream ended without an answer`)
    const header = decodeDatasetHeader(decodeJson(first), maxBytes)
    if (header.status === 'unknown') return null
    const bytes = new Uint8Array(header.size)
    let received = 0
    while (received < header.size) {
      const frame = await reader.next()
      if (!(frame instanceof Uint8Array))
        throw new MalformedMessageError(
          `${DATASET_PROTOCOL}: the stream ended after ${received} of ${header.size} bytes`,
        )
      if (received + frame.length > header.size)
        throw new MalformedMessageError(`${DATASET_PROTOCOL}: more bytes than the announced ${header.size}`)
      bytes.set(frame, received)
      received += frame.length
    }
    const received_ = datasetHash(bytes)
    if (received_ !== requested)
      throw new DatasetHashMismatchError({ requested, received: received_, peer: peer.toString() })
    return bytes
  } finally {
    reader.dispose()
    await stream.close().catch(() => {})
  }
}

/**
 * The data set of `hash` from the first of `peers` that has it (errors of one peer, a mismatch included, move on to
 * the next); `DatasetUnavailableError` when none does.
 */
export async function fetchDatasetFromAny(
  node: ModelexNode,
  peers: readonly (PeerId | string)[],
  hash: Hex,
  options: FetchDatasetOptions = {},
): Promise<Uint8Array> {
  let last: unknown
  for (const peer of peers) {
    try {
      const bytes = await fetchDataset(node, peer, hash, options)
      if (bytes) return bytes
    } catch (error) {
      last = error
    }
  }
  throw new DatasetUnavailableError({ hash, asked: peers.length }, last)
}

/** A data set store over a key-value store: bytes kept by hash, re-checked on every read. */
export function datasetStore(
  store: { get(key: string): Promise<unknown>; set(key: string, value: unknown): Promise<void> },
  prefix = 'dataset:',
): DatasetSource & { put(bytes: Uint8Array): Promise<Hex> } {
  return {
    async get(hash) {
      const value = await store.get(`${prefix}${hash.toLowerCase()}`)
      if (!(value instanceof Uint8Array) && typeof value !== 'string') return null
      const bytes = typeof value === 'string' ? Uint8Array.from(atob(value), (c) => c.charCodeAt(0)) : value
      return datasetHash(bytes) === hash.toLowerCase() ? bytes : null
    },
    async put(bytes) {
      const hash = datasetHash(bytes)
      // Base64 text: survives both IndexedDB and a JSON file store.
      let binary = ''
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
      await store.set(`${prefix}${hash}`, btoa(binary))
      return hash
    },
  }
}
