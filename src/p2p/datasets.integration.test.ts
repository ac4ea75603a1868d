/**
 * Data sets shared by hash on the real relay (child process): peer B fetches peer A's data set (larger than one
 * chunk, so it arrives in several frames) by its hash; an unknown hash is null; a rogue peer that sends other bytes,
 * more bytes than it announced, or a size above the limit is refused; `fetchDatasetFromAny` moves on to the next peer.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { datasetHash, encodeDataset, parseDataset } from '../core/datasets.ts'
import { DatasetHashMismatchError, DatasetUnavailableError } from '../core/errors/oracle.ts'
import { MalformedMessageError } from '../core/errors/p2p.ts'
import { encodeJson } from '../core/wire/check.ts'
import { encodeFrame } from '../core/wire/frame.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { memoryStore } from '../store/payments.ts'
import {
  DATASET_CHUNK_BYTES,
  DATASET_PROTOCOL,
  datasetStore,
  fetchDataset,
  fetchDatasetFromAny,
  serveDatasets,
} from './datasets.ts'
import { sendFrame } from './frames.ts'
import { createModelexNode, type ModelexNode } from './node.ts'

let dir: string
let relay: RelayProcess
let a: ModelexNode
let b: ModelexNode
let rogue: ModelexNode
const stops: (() => Promise<void>)[] = []
let bytes: Uint8Array

async function peer(): Promise<ModelexNode> {
  const node = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node' })
  await node.start()
  stops.push(() => node.stop())
  await node.waitForReservation(15_000)
  return node
}

/** A rogue server that answers every request with `frames` (already encoded). */
async function rogueServes(frames: Uint8Array[]): Promise<void> {
  await rogue.libp2p.unhandle(DATASET_PROTOCOL).catch(() => {})
  await rogue.libp2p.handle(
    DATASET_PROTOCOL,
    async (stream) => {
      for (const frame of frames) await sendFrame(stream, frame)
      await stream.close().catch(() => {})
    },
    { runOnLimitedConnection: true },
  )
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-datasets-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  ;[a, b, rogue] = await Promise.all([peer(), peer(), peer()])
  const headlines = parseDataset(await readFile(new URL('../../data/financial-headlines.jsonl', import.meta.url)))
  // Repeat the project's headlines under new ids until the file spans several chunks.
  const items = Array.from({ length: 12 }, (_, copy) =>
    headlines.map(({ time: _time, ...item }) => ({ ...item, id: `${item.id}-${copy}` })),
  ).flat()
  bytes = encodeDataset(items)
  expect(bytes.length).toBeGreaterThan(2 * DATASET_CHUNK_BYTES)
  const store = datasetStore(memoryStore())
  await store.put(bytes)
  stops.push(await serveDatasets(a, store))
})

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('/modelex/dataset/1.0.0', () => {
  test('peer B fetches a multi-chunk data set from peer A by its hash, through the relay', async () => {
    const fetched = await fetchDataset(b, a.peerId, datasetHash(bytes))
    expect(fetched).toEqual(bytes)
  })

  test('a hash the peer does not have is null', async () => {
    expect(await fetchDataset(b, a.peerId, datasetHash(new Uint8Array([1])))).toBeNull()
  })

  test('other bytes, more bytes than announced, or a size over the limit are refused', async () => {
    const hash = datasetHash(bytes)
    const other = bytes.slice(0, 100)
    await rogueServes([
      encodeFrame(encodeJson({ status: 'found', size: other.length }), 256),
      encodeFrame(other, DATASET_CHUNK_BYTES),
    ])
    expect(await fetchDataset(b, rogue.peerId, hash).catch((e: unknown) => e)).toBeInstanceOf(DatasetHashMismatchError)
    await rogueServes([
      encodeFrame(encodeJson({ status: 'found', size: 10 }), 256),
      encodeFrame(other, DATASET_CHUNK_BYTES),
    ])
    expect(await fetchDataset(b, rogue.peerId, hash).catch((e: unknown) => e)).toBeInstanceOf(MalformedMessageError)
    await rogueServes([encodeFrame(encodeJson({ status: 'found', size: 1_000_000 }), 256)])
    expect(await fetchDataset(b, rogue.peerId, hash, { maxBytes: 1000 }).catch((e: unknown) => e)).toBeInstanceOf(
      MalformedMessageError,
    )
  })

  test('fetchDatasetFromAny skips a lying peer and takes the next; with nobody left it is DatasetUnavailableError', async () => {
    const hash = datasetHash(bytes)
    await rogueServes([
      encodeFrame(encodeJson({ status: 'found', size: 3 }), 256),
      encodeFrame(new Uint8Array([1, 2, 3]), DATASET_CHUNK_BYTES),
    ])
    expect(await fetchDatasetFromAny(b, [rogue.peerId, a.peerId], hash)).toEqual(bytes)
    const error = await fetchDatasetFromAny(b, [rogue.peerId], hash).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DatasetUnavailableError)
    expect((error as DatasetUnavailableError).walk()).toBeInstanceOf(DatasetHashMismatchError)
  })
})
