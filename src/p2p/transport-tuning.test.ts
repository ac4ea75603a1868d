import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, test } from 'vitest'
import { isTuned, joinWrites, lazyWindowUpdates } from './transport-tuning.ts'

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
