/**
 * Keeping a picked node warm. Opening a libp2p stream costs a round trip before the first byte of a request can go
 * (multistream-select negotiates the protocol in full: js-libp2p 3 has no optimistic mode; its `negotiateFully`
 * option is declared but not implemented) plus the peer-store bookkeeping on both ends — on loopback through the
 * relay that was most of the remote − local time to first token. `warmUp(node, peer)` dials the node now (WebRTC
 * first in a browser) and keeps one negotiated `/modelex/infer/1.0.0` stream open in advance; the next `infer` or
 * `askQuote` to that node takes it and a new one is opened behind it. A spare is replaced before it gets old
 * (`SPARE_MAX_AGE_MS`, well inside the node's wait for a request) and dropped when the node says or closes anything
 * on it; a node that is unreachable is retried at that same pace, not in a loop. Nothing changes on the wire: the
 * node sees a stream whose request arrives later.
 *
 * @example
 * const warm = warmUp(node, peerId) // when the user picks the node
 * await warm.ready                  // optional: connected and a stream ready (never rejects)
 * warm.stop()                       // when another node is picked
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { INFER_PROTOCOL } from '../core/wire/infer.ts'
import { connectToPeer, toPeerId } from './dial.ts'
import { directConnection, isRelayed, type ModelexNode } from './node.ts'

/** A spare stream older than this is replaced (nodes wait 10 s for the request by default). */
export const SPARE_MAX_AGE_MS = 5_000

export type OpenedStream = { stream: Stream; relayed: boolean }

export type Warmth = {
  /** Settles once the node is connected and a spare stream is open, or the attempt failed (it never rejects). */
  readonly ready: Promise<void>
  /** Whether a spare stream is open right now. */
  readonly warm: boolean
  /** Stops keeping the node warm (once every holder has stopped) and closes the spare. */
  stop(): void
}

type Spare = OpenedStream & { openedAt: number; release(): void }

type Entry = {
  /** Parsed once: making a PeerId from its string decodes the public key, a fifth of a millisecond (Ed25519). */
  peer: PeerId
  holders: number
  spare: Spare | null
  opening: Promise<void> | null
  timer: ReturnType<typeof setTimeout> | undefined
}

const registry = new WeakMap<ModelexNode, Map<string, Entry>>()

function entriesOf(node: ModelexNode): Map<string, Entry> {
  let entries = registry.get(node)
  if (!entries) registry.set(node, (entries = new Map()))
  return entries
}

/** Connects to `peer` and opens a negotiated infer stream (what every request did before warming). */
export async function openInferStream(
  node: ModelexNode,
  peer: PeerId | string,
  signal?: AbortSignal,
): Promise<OpenedStream> {
  const connection = await connectToPeer(node, peer, signal ? { signal } : {})
  const stream = await connection.newStream(INFER_PROTOCOL, {
    runOnLimitedConnection: true,
    ...(signal ? { signal } : {}),
  })
  return { stream, relayed: isRelayed(connection) }
}

/** Keeps `peer` connected with a spare infer stream ready until `stop()`; several holders of one peer share it. */
export function warmUp(node: ModelexNode, peer: PeerId | string): Warmth {
  const peerId = toPeerId(peer)
  const id = peerId.toString()
  const entries = entriesOf(node)
  let entry = entries.get(id)
  if (!entry) entries.set(id, (entry = { peer: peerId, holders: 0, spare: null, opening: null, timer: undefined }))
  entry.holders++
  const held = entry
  let stopped = false
  replenish(node, held)
  return {
    ready: held.opening ?? Promise.resolve(),
    get warm() {
      return held.spare !== null
    },
    stop() {
      if (stopped) return
      stopped = true
      held.holders--
      if (held.holders > 0) return
      clearTimeout(held.timer)
      held.timer = undefined
      retire(held)
      if (entries.get(id) === held) entries.delete(id)
    },
  }
}

/**
 * An infer stream to `peer`: the warm spare when there is a fresh one (and a new spare is opened behind it, once the
 * stream closes or, with `replaceAtOnce`, now), else a new stream.
 */
export async function takeInferStream(
  node: ModelexNode,
  peer: PeerId | string,
  signal?: AbortSignal,
  { replaceAtOnce = false }: { replaceAtOnce?: boolean } = {},
): Promise<OpenedStream & { warm: boolean }> {
  const id = toPeerId(peer).toString()
  const entry = registry.get(node)?.get(id)
  if (entry) {
    // A warm-up that is still connecting: its stream will be ready sooner than a second one.
    if (!entry.spare && entry.opening) await raceAbort(entry.opening, signal)
    const spare = entry.spare
    if (spare && usable(node, entry.peer, spare)) {
      entry.spare = null
      spare.release()
      // The next spare is opened once this request is over, not while it runs: opening a stream costs CPU on both
      // ends (negotiation, peer-store writes) that would otherwise delay this request's answer. A quote is one small
      // frame each way and is usually followed at once by the paid request: its replacement opens now, for that one.
      if (replaceAtOnce) replenish(node, entry)
      else spare.stream.addEventListener('close', () => replenish(node, entry), { once: true })
      return { stream: spare.stream, relayed: spare.relayed, warm: true }
    }
    if (spare) retire(entry)
  }
  return { ...(await openInferStream(node, peer, signal)), warm: false }
}

/** Fresh, still open both ways, and not on a relayed circuit when a direct connection has come up since. */
function usable(node: ModelexNode, peer: PeerId, spare: Spare): boolean {
  const { stream } = spare
  if (performance.now() - spare.openedAt > SPARE_MAX_AGE_MS) return false
  if (stream.status !== 'open' || stream.writeStatus !== 'writable' || stream.remoteWriteStatus !== 'writable')
    return false
  return !(spare.relayed && directConnection(node.libp2p, peer) !== undefined)
}

/** Drops the spare (a reset: the node's handler ends at once, with nothing counted against us). */
function retire(entry: Entry): void {
  const spare = entry.spare
  if (!spare) return
  entry.spare = null
  spare.release()
  spare.stream.abort(new Error('spare stream retired'))
}

function replenish(node: ModelexNode, entry: Entry): void {
  if (entry.opening || entry.spare || entry.holders === 0 || node.libp2p.status !== 'started') return
  const opening = (async () => {
    try {
      const opened = await openInferStream(node, entry.peer, AbortSignal.timeout(SPARE_MAX_AGE_MS * 2))
      if (entry.holders === 0) {
        opened.stream.abort(new Error('no longer warm'))
        return
      }
      entry.spare = watch(entry, opened)
    } catch {
      // Unreachable for now: the refresh below tries again.
    } finally {
      entry.opening = null
    }
    if (entry.holders > 0 && node.libp2p.status === 'started') {
      clearTimeout(entry.timer)
      entry.timer = setTimeout(() => {
        entry.timer = undefined
        retire(entry)
        replenish(node, entry)
      }, SPARE_MAX_AGE_MS)
    }
  })()
  entry.opening = opening
}

/** A spare the node speaks on or closes before our request is of no use (a refusal, a timeout, a stop). */
function watch(entry: Entry, opened: OpenedStream): Spare {
  const { stream } = opened
  const drop = () => {
    if (entry.spare === spare) retire(entry)
  }
  const spare: Spare = {
    ...opened,
    openedAt: performance.now(),
    release() {
      stream.removeEventListener('message', drop)
      stream.removeEventListener('remoteCloseWrite', drop)
      stream.removeEventListener('close', drop)
    },
  }
  stream.addEventListener('message', drop)
  stream.addEventListener('remoteCloseWrite', drop)
  stream.addEventListener('close', drop)
  return spare
}

function raceAbort(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
    promise.then(done, done)
  })
}
