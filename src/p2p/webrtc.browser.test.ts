/**
 * Two headless Chromium pages find each other through the relay and stream an answer over a direct WebRTC
 * connection, in the lab of src/server/testing/webrtc-lab.ts (a network namespace of our own with a veth pair; everything
 * it starts is stopped by PID and removed in afterAll). Then the consumer picks the node ahead (`warmUp`: dial now,
 * keep a stream ready) and the next answer uses that connection. Without root or `ip`, the test is skipped and
 * says why. Timings are printed, not asserted (`bench:p2p -- webrtc` measures them).
 */
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { call, startWebRtcLab, type WebRtcLab } from '../server/testing/webrtc-lab.ts'

let lab: WebRtcLab | undefined

beforeAll(async () => {
  lab = await startWebRtcLab(inject('devUrl'))
}, 180_000)

afterAll(async () => {
  await lab?.stop()
})

test('two browser pages: discover through gossip, connect over WebRTC via the relay, stream an answer', async (context) => {
  const running = lab as WebRtcLab
  if (running.skipReason) {
    console.warn(`Skipping the WebRTC browser test: ${running.skipReason}`)
    context.skip()
    return
  }
  const provider = await running.openFixture()
  const consumer = await running.openFixture()
  const relayAddress = running.relay!.multiaddr
  const served = await call(provider.page, 'start', { relay: relayAddress, role: 'provider' })
  const client = await call(consumer.page, 'start', { relay: relayAddress, role: 'consumer' })
  expect(served.addresses.some((a) => a.includes('/p2p-circuit/webrtc'))).toBe(true)
  expect(client.peerId).not.toBe(served.peerId)

  expect(await call(consumer.page, 'discover', served.peerId)).toEqual({
    peerId: served.peerId,
    model: 'memory-tiny',
    price: '2',
  })
  const answer = await call(consumer.page, 'request', served.peerId, 64)
  expect(answer.usage.completion_tokens).toBe(64)
  expect(answer.deltas).toBeGreaterThan(1)
  expect(answer.text.split(' ').length).toBe(64)
  // The answer came over a direct WebRTC connection, not through the relay.
  expect(answer.relayed).toBe(false)
  expect(answer.connections.some((a) => a.includes('/webrtc'))).toBe(true)
  console.log(
    `WebRTC: first token ${answer.firstTokenMs.toFixed(0)} ms (including connection set-up), 64 tokens in ${answer.totalMs.toFixed(0)} ms`,
  )

  // The node picked ahead: kept warm over the same WebRTC connection, and the next answer comes over it.
  const picked = await call(consumer.page, 'warm', served.peerId)
  expect(picked.warm).toBe(true)
  expect(picked.connections.some((a) => a.includes('/webrtc'))).toBe(true)
  const warm = await call(consumer.page, 'request', served.peerId, 8)
  expect(warm.usage.completion_tokens).toBe(8)
  expect(warm.relayed).toBe(false)
  console.log(`WebRTC, node picked ahead: first token ${warm.firstTokenMs.toFixed(1)} ms`)

  // The peer id is kept in IndexedDB: a reload gives the same one.
  await call(consumer.page, 'stop')
  await consumer.page.reload()
  await consumer.page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 })
  const again = await call(consumer.page, 'start', { relay: relayAddress, role: 'consumer' })
  expect(again.peerId).toBe(client.peerId)
  await call(consumer.page, 'stop')
  await call(provider.page, 'stop')
  expect([...provider.errors, ...consumer.errors]).toEqual([])
}, 300_000)
