/**
 * Two headless Chromium pages find each other through the relay and stream an answer over a direct WebRTC
 * connection; and a Node consumer (what the SDK and the gateway run) reaches a browser node the same way, in the lab of src/server/testing/webrtc-lab.ts (a network namespace of our own with a veth pair; everything
 * it starts is stopped by PID and removed in afterAll). Then the consumer picks the node ahead (`warmUp`: dial now,
 * keep a stream ready) and the next answer uses that connection. Without root or `ip`, the test is skipped and
 * says why. Timings are printed, not asserted (`bench:p2p -- webrtc` measures them).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import '../server/lib/node-shims.ts'
import { call, startWebRtcLab, type WebRtcLab } from '../server/testing/webrtc-lab.ts'
import { upgradeToDirect } from './dial.ts'
import { infer } from './infer-client.ts'
import { isRelayed } from './node.ts'
import { startConsumer } from './testing.ts'

let lab: WebRtcLab | undefined

beforeAll(async () => {
  lab = await startWebRtcLab(inject('devUrl'))
}, 180_000)

afterAll(async () => {
  await lab?.stop()
})

/** The lab, or undefined after skipping the test when it could not start (no root, no `ip`, no Chromium). */
function runningLab(context: { skip(): void }): WebRtcLab | undefined {
  const running = lab as WebRtcLab
  if (!running.skipReason) return running
  console.warn(`Skipping the WebRTC browser test: ${running.skipReason}`)
  context.skip()
  return undefined
}

test('two browser pages: discover through gossip, connect over WebRTC via the relay, stream an answer', async (context) => {
  const running = runningLab(context)
  if (!running) return
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

test('a Node consumer with WebRTC: its first answer from a browser node comes through the relay, the next ones over a direct WebRTC connection', async (context) => {
  const running = runningLab(context)
  if (!running) return
  const relayAddress = running.relay!.multiaddr
  const provider = await running.openFixture()
  const served = await call(provider.page, 'start', { relay: relayAddress, role: 'provider' })
  const consumer = await startConsumer({
    relay: relayAddress,
    node: { webrtc: true, listen: ['/p2p-circuit'] }, // as the SDK and the gateway make theirs: dial only
    directory: { pingIntervalMs: 3_600_000 },
  })
  try {
    const peer = peerIdFromString(served.peerId)
    const ask = async () => {
      const answer = infer(consumer.node, {
        peer,
        request: {
          kind: 'chat',
          model: 'memory-tiny',
          messages: [{ role: 'user', content: 'hello from Node' }],
          max_tokens: 8,
          temperature: 0,
          seed: 0,
        },
      })
      let text = ''
      for await (const delta of answer) text += delta.text
      const outcome = await answer.result
      return { text, relayed: outcome.relayed, tokens: outcome.usage.completion_tokens }
    }
    const first = await ask()
    expect(first).toMatchObject({ relayed: true, tokens: 8 })
    // Behind the relayed answer the consumer looked for a way around the relay: the node's WebRTC address.
    const direct = await upgradeToDirect(consumer.node, peer)
    expect(direct && !isRelayed(direct)).toBe(true)
    expect(direct?.remoteAddr.toString()).toContain('/p2p-circuit/webrtc/')
    const second = await ask()
    expect(second).toEqual({ ...first, relayed: false })
  } finally {
    await consumer.stop()
    await call(provider.page, 'stop')
  }
  expect(provider.errors).toEqual([])
}, 300_000)
