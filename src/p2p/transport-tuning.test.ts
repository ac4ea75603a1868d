import '../server/lib/node-shims.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LengthPrefixedDecoder, multiaddrConnectionPair } from '@libp2p/utils'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, test } from 'vitest'
import { isTuned, joinWrites, lazyWindowUpdates, modelexNoise, quietLengths, uint16Length } from './transport-tuning.ts'

/** The fields of a yamux stream that `lazyWindowUpdates` reads, with the library's own update rule. */
function windowedStream(state: number, window = 1000) {
  const updates: number[] = []
  const stream = {
    state,
    recvWindow: window,
    recvWindowCapacity: window,
    sendWindowUpdate() {
      updates.push(this.recvWindow - this.recvWindowCapacity)
      this.recvWindowCapacity = this.recvWindow
    },
    receive(bytes: number) {
      this.recvWindowCapacity -= bytes
      this.sendWindowUpdate()
    },
  }
  return { stream, updates }
}

describe('lazy yamux window updates', () => {
  test('an established stream credits its sender once more than half the window is used, not after every frame', () => {
    const { stream, updates } = windowedStream(3)
    expect(lazyWindowUpdates(stream)).toBe(true)
    expect(isTuned(stream)).toBe(true)
    for (let i = 0; i < 10; i++) stream.receive(100)
    // 100 bytes at a time into a window of 1000: one credit, of 600, after the sixth frame (the stock rule: ten).
    expect(updates).toEqual([600])
  })

  test('opening (SYN/ACK) and paused streams keep the library behaviour', () => {
    for (const state of [0, 1, 2, 5]) {
      const { stream, updates } = windowedStream(state)
      lazyWindowUpdates(stream)
      stream.receive(10)
      expect(updates).toEqual([10])
    }
  })

  test('a stream without the expected fields (another yamux version) is left alone', () => {
    const other = { sendWindowUpdate() {} }
    expect(lazyWindowUpdates(other)).toBe(false)
    expect(isTuned(other)).toBe(false)
  })
})

describe('joined WebSocket writes', () => {
  test("a write's chunks go out as one piece; large writes and single chunks as they are", () => {
    const sent: number[][] = []
    const connection = {
      sendData(data: Uint8ArrayList) {
        sent.push([...data].map((chunk) => chunk.byteLength))
        return { sentBytes: data.byteLength, canSendMore: true }
      },
    }
    expect(joinWrites(connection)).toBe(true)
    connection.sendData(new Uint8ArrayList(new Uint8Array(2), new Uint8Array(40)))
    connection.sendData(new Uint8ArrayList(new Uint8Array(7)))
    connection.sendData(new Uint8ArrayList(new Uint8Array(2), new Uint8Array(70_000)))
    expect(sent).toEqual([[42], [7], [2, 70_000]])
  })

  test('the bytes are unchanged', () => {
    let out: Uint8Array = new Uint8Array()
    const connection = {
      sendData(data: Uint8ArrayList) {
        out = data.subarray()
        return { sentBytes: data.byteLength, canSendMore: true }
      },
    }
    joinWrites(connection)
    connection.sendData(new Uint8ArrayList(Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5, 6)))
    expect([...out]).toEqual([1, 2, 3, 4, 5, 6])
  })
})

/** The library's own rule (noise's `uint16BEDecode`): a RangeError when fewer than 2 bytes are there. */
function stockLength(data: Uint8Array | Uint8ArrayList): number {
  if (data.byteLength < 2) throw new RangeError('Could not decode int16BE')
  return data instanceof Uint8Array ? (data[0]! << 8) + data[1]! : data.getUint16(0)
}

const decode = (lengthDecoder: (data: Uint8Array | Uint8ArrayList) => number, chunks: Uint8Array[]) => {
  const decoder = new LengthPrefixedDecoder({ lengthDecoder, encodingLength: () => 2, maxDataLength: 65_535 })
  return chunks.flatMap((chunk) => [...decoder.decode(chunk)].map((message) => [...message.subarray()]))
}

describe('noise message lengths without an exception', () => {
  test('any messages, cut into any chunks, come out as the stock decoder gives them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 20 }),
        (messages, cuts) => {
          const framed = new Uint8ArrayList()
          for (const message of messages)
            framed.append(Uint8Array.of(message.length >> 8, message.length & 255), message)
          const bytes = framed.subarray()
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
          const chunks = [0, ...points].map((start, i) => bytes.subarray(start, [...points, bytes.length][i]))
          const quiet = decode(uint16Length, chunks)
          expect(quiet).toEqual(decode(stockLength, chunks))
          // The stock rule drops empty messages too; every other message comes out whole and in order.
          expect(quiet).toEqual(messages.filter((m) => m.length > 0).map((m) => [...m]))
        },
      ),
      { numRuns: 300 },
    )
  })

  test('real noise connections (both sides of a handshake) are tuned and carry every byte, small and large', async () => {
    const [outbound, inbound] = multiaddrConnectionPair()
    const components = async () => {
      const privateKey = await generateKeyPair('Ed25519')
      return { privateKey, peerId: peerIdFromPrivateKey(privateKey), logger: defaultLogger() }
    }
    const [a, b] = [await components(), await components()]
    const [initiator, responder] = [
      modelexNoise()(a as unknown as Parameters<ReturnType<typeof modelexNoise>>[0]),
      modelexNoise()(b as unknown as Parameters<ReturnType<typeof modelexNoise>>[0]),
    ]
    const [left, right] = await Promise.all([
      initiator.secureOutbound(outbound, { remotePeer: b.peerId, skipStreamMuxerNegotiation: true }),
      responder.secureInbound(inbound, { skipStreamMuxerNegotiation: true }),
    ])
    expect(isTuned(left.connection) && isTuned(right.connection)).toBe(true)
    const received = new Uint8ArrayList()
    right.connection.addEventListener('message', (event) => received.append(event.data))
    const sent = [1, 17, 300, 70_000, 2].map((size) =>
      Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 255),
    )
    for (const message of sent) left.connection.send(message)
    const total = sent.reduce((n, m) => n + m.length, 0)
    for (let i = 0; i < 200 && received.byteLength < total; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect([...received.subarray()]).toEqual(sent.flatMap((m) => [...m]))
    await Promise.all([left.connection.close(), right.connection.close()])
  })

  test('an object without noise’s decoder (another version) is left alone', () => {
    const other = { decoder: { lengthDecoder: () => 0, encodingLength: () => 1 } }
    expect(quietLengths(other)).toBe(false)
    expect(isTuned(other)).toBe(false)
    expect(quietLengths({})).toBe(false)
  })
})
