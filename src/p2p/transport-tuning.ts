/**
 * Three small changes to how the libp2p stack reads and writes, without changing what goes over the wire (both sides
 * stay compatible with any libp2p peer). Measured on loopback through the relay (`npm run bench:p2p`), every small message used to cost
 * about eight WebSocket messages system-wide, and the CPU to make and read them was most of the time a request took:
 *
 * - Yamux answered every data frame with a window update (its receive window is 256 KiB; it re-credited the sender
 *   after each frame, however small). Over a relayed circuit that is two yamux layers, and each update of the inner
 *   one is itself a data frame of the outer ones, so one message made four more. `modelexYamux()` credits the sender
 *   once more than half the window is used, as Go's and Rust's yamux do; opening (SYN/ACK) and paused streams are unchanged.
 * - The WebSocket connection sent each chunk of a write as its own WebSocket message, and noise writes every
 *   encrypted message as two chunks (its 2-byte length, then the ciphertext). `modelexWebSockets()` joins a write's
 *   chunks into one message (up to 64 KiB; larger writes go as they are).
 * - Noise's reader splits the byte stream into messages by their 2-byte length, and learns that it has read them all
 *   when its length decoder throws a RangeError on the empty rest: an Error (with its stack) per message per noise
 *   layer, three layers on a relayed path. That throw was the largest JavaScript cost in the relay's profile (about
 *   18 µs per message). `modelexNoise()` gives the reader a length decoder that reports "not enough bytes" without
 *   throwing; the messages it yields are the same.
 *
 * All three reach into the library's objects (yamux streams' window fields, the WebSocket connection's `sendData`,
 * noise's message decoder); where those are not what we expect (another version), they leave the object alone and
 * the stock behaviour applies.
 * `transport-tuning.test.ts` fails when that happens, so an upgrade cannot silently lose the tuning.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { webSockets } from '@libp2p/websockets'
import { Uint8ArrayList } from 'uint8arraylist'

type MuxerFactory = ReturnType<ReturnType<typeof yamux>>
type Muxer = ReturnType<MuxerFactory['createStreamMuxer']>
type WebSocketsFactory = ReturnType<typeof webSockets>
type WebSocketsTransport = ReturnType<WebSocketsFactory>
type Upgrader = Parameters<WebSocketsTransport['dial']>[1]['upgrader']

/** Yamux's stream state numbering (`StreamState.Established`). */
const ESTABLISHED = 3
/** Writes up to this size are joined into one WebSocket message. */
const MAX_JOINED_BYTES = 64 * 1024

type WindowedStream = { state: number; recvWindow: number; recvWindowCapacity: number; sendWindowUpdate: () => void }

function isWindowedStream(value: unknown): value is WindowedStream {
  const s = value as Partial<WindowedStream> | null
  return (
    s != null &&
    typeof s.sendWindowUpdate === 'function' &&
    typeof s.recvWindow === 'number' &&
    typeof s.recvWindowCapacity === 'number' &&
    typeof s.state === 'number'
  )
}

const TUNED = Symbol('modelex.tuned')

/** Whether `lazyWindowUpdates` or `joinWrites` applied to this stream or connection. */
export function isTuned(value: unknown): boolean {
  return typeof value === 'object' && value !== null && TUNED in value
}

/** Makes a yamux stream credit its sender only once more than half its receive window is used. Returns whether it could. */
export function lazyWindowUpdates(stream: unknown): boolean {
  if (!isWindowedStream(stream)) return false
  const send = stream.sendWindowUpdate
  stream.sendWindowUpdate = function (this: WindowedStream) {
    if (this.state === ESTABLISHED && this.recvWindowCapacity * 2 >= this.recvWindow) return
    send.call(this)
  }
  Object.defineProperty(stream, TUNED, { value: true })
  return true
}

/** Yamux whose streams send window updates past half the window instead of after every frame. */
export function modelexYamux(init: Parameters<typeof yamux>[0] = {}): ReturnType<typeof yamux> {
  const create = yamux(init)
  return () => {
    const factory = create()
    const createStreamMuxer = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn) => tuneMuxer(createStreamMuxer(maConn))
    return factory
  }
}

/** Every stream the muxer makes (ours and the remote's) gets lazy window updates. */
export function tuneMuxer(muxer: Muxer): Muxer {
  const internal = muxer as unknown as { _newStream?: (...args: unknown[]) => unknown }
  const newStream = internal._newStream
  if (typeof newStream !== 'function') return muxer
  internal._newStream = function (this: unknown, ...args: unknown[]) {
    const stream = newStream.apply(this, args)
    lazyWindowUpdates(stream)
    return stream
  }
  return muxer
}

type SendingConnection = { sendData: (data: Uint8ArrayList) => unknown }

/** Makes a connection send each write's chunks as one piece (one WebSocket message). Returns whether it could. */
export function joinWrites(maConn: unknown): boolean {
  const connection = maConn as Partial<SendingConnection> | null
  const sendData = connection?.sendData
  if (connection == null || typeof sendData !== 'function') return false
  connection.sendData = function (this: unknown, data: Uint8ArrayList) {
    // Duck-typed: noise hands over lists from its own copy of uint8arraylist.
    const chunks = (data as unknown as { bufs?: unknown }).bufs
    const joined =
      Array.isArray(chunks) && chunks.length > 1 && data.byteLength <= MAX_JOINED_BYTES
        ? new Uint8ArrayList(data.subarray())
        : data
    return sendData.call(this, joined)
  }
  Object.defineProperty(connection, TUNED, { value: true })
  return true
}

function joiningUpgrader(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, property) {
      if (property === 'upgradeInbound' || property === 'upgradeOutbound') {
        const upgrade = target[property].bind(target) as (maConn: unknown, options: unknown) => unknown
        return (maConn: unknown, options: unknown) => {
          joinWrites(maConn)
          return upgrade(maConn, options)
        }
      }
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

/** The WebSockets transport, with each write sent as one WebSocket message (dialled and accepted connections). */
export function modelexWebSockets(init: Parameters<typeof webSockets>[0] = {}): WebSocketsFactory {
  const create = webSockets(init)
  return (components) => {
    const transport = create(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = (address, options) => dial(address, { ...options, upgrader: joiningUpgrader(options.upgrader) })
    transport.createListener = (options) => createListener({ ...options, upgrader: joiningUpgrader(options.upgrader) })
    return transport
  }
}

type LengthDecoder = ((data: Uint8Array | Uint8ArrayList) => number) & { bytes?: number }
type NoiseReader = { decoder: { lengthDecoder: LengthDecoder; encodingLength: (length: number) => number } }

function isNoiseReader(value: unknown): value is NoiseReader {
  const decoder = (value as Partial<NoiseReader> | null)?.decoder
  return (
    decoder != null &&
    typeof decoder.lengthDecoder === 'function' &&
    typeof decoder.encodingLength === 'function' &&
    decoder.encodingLength(0) === 2
  )
}

/**
 * A 2-byte big-endian length, or 0 while fewer than 2 bytes are there: the decoder then needs 2 bytes for a message
 * and waits for more, as it did when the stock decoder threw (a message of length 0 is dropped either way).
 */
export function uint16Length(data: Uint8Array | Uint8ArrayList): number {
  if (data.byteLength < 2) return 0
  return data instanceof Uint8Array ? (data[0]! << 8) | data[1]! : data.getUint16(0)
}

/** Makes a noise connection's reader find message lengths without throwing. Returns whether it could. */
export function quietLengths(connection: unknown): boolean {
  if (!isNoiseReader(connection)) return false
  connection.decoder.lengthDecoder = uint16Length
  Object.defineProperty(connection, TUNED, { value: true })
  return true
}

type NoiseFactory = ReturnType<typeof noise>
type Encrypter = ReturnType<NoiseFactory>

/** Noise whose encrypted connections read message lengths without an exception per message. */
export function modelexNoise(init: Parameters<typeof noise>[0] = {}): NoiseFactory {
  const create = noise(init)
  return (components) => {
    const encrypter: Encrypter = create(components)
    const secureInbound = encrypter.secureInbound.bind(encrypter)
    const secureOutbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (connection, options) => {
      const secured = await secureInbound(connection, options)
      quietLengths(secured.connection)
      return secured
    }
    encrypter.secureOutbound = async (connection, options) => {
      const secured = await secureOutbound(connection, options)
      quietLengths(secured.connection)
      return secured
    }
    return encrypter
  }
}
