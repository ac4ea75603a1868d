/**
 * Relayed, then direct: a node that listens on an address of its own (a server node's `--listen`) is reached
 * through the relay first and upgraded to a direct connection behind the first request (dial.ts `upgradeToDirect`);
 * the requests after it skip the relay. A node that lists none stays relayed and is not asked again while backed
 * off. The adversary is a node built from the real code that announces addresses that are not its own (ten of
 * them, as if to make consumers dial someone else): a consumer dials at most four, none of them becomes a
 * connection to that node, and its requests still work through the relay. With WebRTC on both ends (ICE bound to
 * loopback), a node with no address of its own is reached over WebRTC signalled through the relay; a node that
 * claims WebRTC and cannot do it stays relayed. Real relay (child process, stopped by PID).
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { InferenceRequest } from '../core/inference.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { connectToPeer, DIRECT_UPGRADE, upgradeToDirect } from './dial.ts'
import { infer } from './infer-client.ts'
import { directConnection, isRelayed } from './node.ts'
import { FREE_POLICY, startConsumer, startProvider, TEST_MODEL, type Consumer, type Provider } from './testing.ts'

const chat: InferenceRequest = {
  kind: 'chat',
  model: TEST_MODEL.id,
  messages: [{ role: 'user', content: 'hello' }],
  max_tokens: 4,
  temperature: 0,
  seed: 0,
}

let dir: string
let relay: RelayProcess
const stops: (() => Promise<void>)[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-direct-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
}, 60_000)

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

const free: InferenceRequest = chat
const admitAll = {
  policy: FREE_POLICY,
}

async function provider(node: Parameters<typeof startProvider>[0]['node']): Promise<Provider> {
  const started = await startProvider({ relay: relay.multiaddr, server: admitAll, ...(node ? { node } : {}) })
  stops.push(() => started.stop())
  return started
}

async function consumer(node?: Parameters<typeof startConsumer>[0]['node']): Promise<Consumer> {
  const started = await startConsumer({
    relay: relay.multiaddr,
    directory: { pingIntervalMs: 3_600_000 },
    ...(node ? { node } : {}),
  })
  stops.push(() => started.stop())
  return started
}

async function ask(from: Consumer, to: Provider) {
  const call = infer(from.node, { peer: to.node.peerId, request: free })
  let text = ''
  for await (const delta of call) text += delta.text
  return { text, relayed: (await call.result).relayed }
}

test('a node listening on its own address: the first request goes through the relay, the next ones directly', async () => {
  const port = await freePort()
  const server = await provider({ listen: ['/p2p-circuit', `/ip4/127.0.0.1/tcp/${port}/ws`] })
  const client = await consumer()
  const first = await ask(client, server)
  expect(first.relayed).toBe(true)
  expect(first.text.length).toBeGreaterThan(0)
  const direct = await upgradeToDirect(client.node, server.node.peerId)
  expect(direct && !isRelayed(direct)).toBe(true)
  expect(direct?.remoteAddr.toString()).toContain(`/tcp/${port}/ws`)
  const second = await ask(client, server)
  expect(second).toEqual({ text: first.text, relayed: false })
})

test('a node with no address of its own stays relayed and is backed off, not asked again at every request', async () => {
  const server = await provider(undefined)
  const client = await consumer()
  expect((await ask(client, server)).relayed).toBe(true)
  expect(await upgradeToDirect(client.node, server.node.peerId)).toBeUndefined()
  const started = performance.now()
  // Backed off: answers at once (no identify wait), still nothing direct.
  expect(await upgradeToDirect(client.node, server.node.peerId)).toBeUndefined()
  expect(performance.now() - started).toBeLessThan(DIRECT_UPGRADE.identifyWaitMs)
  expect((await ask(client, server)).relayed).toBe(true)
})

test('attack: a node announcing ten addresses that are not its own gets at most four dials and no direct connection', async () => {
  const decoys: Server[] = []
  let accepted = 0
  const addresses: string[] = []
  for (let i = 0; i < 10; i++) {
    const decoy = createServer((socket) => {
      accepted++
      socket.destroy()
    })
    await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.1', resolve))
    decoys.push(decoy)
    const { port } = decoy.address() as { port: number }
    addresses.push(`/ip4/127.0.0.1/tcp/${port}/ws`)
  }
  stops.push(async () => {
    for (const decoy of decoys) await new Promise((resolve) => decoy.close(resolve))
  })
  // The real node, with one rule broken: identify lists addresses someone else listens on.
  const liar = await provider({ announce: addresses })
  const client = await consumer()
  const connection = await connectToPeer(client.node, liar.node.peerId)
  expect(isRelayed(connection)).toBe(true)
  expect(await upgradeToDirect(client.node, liar.node.peerId)).toBeUndefined()
  expect(accepted).toBeGreaterThan(0)
  expect(accepted).toBeLessThanOrEqual(DIRECT_UPGRADE.maxAddresses)
  expect(directConnection(client.node.libp2p, liar.node.peerId)).toBeUndefined()
  // Backed off: a second request dials none of them again, and is served through the relay.
  const before = accepted
  expect((await ask(client, liar)).relayed).toBe(true)
  expect(await upgradeToDirect(client.node, liar.node.peerId)).toBeUndefined()
  expect(accepted).toBe(before)
})

/** WebRTC in Node, its ICE bound to loopback (the only interface a test may use). */
const WEBRTC_ON_LOOPBACK = { webrtc: true, iceBindAddress: '127.0.0.1' } as const
/** A consumer as the SDK and the gateway make one: it dials WebRTC and takes no WebRTC connections. */
const WEBRTC_DIAL_ONLY = { ...WEBRTC_ON_LOOPBACK, listen: ['/p2p-circuit'] }

test('with WebRTC on both ends, a node with no address of its own: the first request through the relay, the next ones over WebRTC', async () => {
  const server = await provider(WEBRTC_ON_LOOPBACK)
  const client = await consumer(WEBRTC_DIAL_ONLY)
  const first = await ask(client, server)
  expect(first.relayed).toBe(true)
  const direct = await upgradeToDirect(client.node, server.node.peerId)
  expect(direct && !isRelayed(direct)).toBe(true)
  expect(direct?.remoteAddr.toString()).toContain('/p2p-circuit/webrtc/')
  const second = await ask(client, server)
  expect(second).toEqual({ text: first.text, relayed: false })
})

test('a consumer without WebRTC does not try it: the node stays relayed', async () => {
  const server = await provider(WEBRTC_ON_LOOPBACK)
  const client = await consumer()
  expect((await ask(client, server)).relayed).toBe(true)
  expect(await upgradeToDirect(client.node, server.node.peerId)).toBeUndefined()
  expect((await ask(client, server)).relayed).toBe(true)
})

test('attack: a node that claims WebRTC it does not take gets one try, is backed off, and is still served through the relay', async () => {
  // The real node, with one rule broken: identify lists a WebRTC address, but the node has no WebRTC transport.
  // The consumer dials WebRTC only through its own relays, never the address listed, so a liar cannot point it at
  // someone else; all it can do is cost one failed try.
  const liar = await provider({ announce: ['/ip4/127.0.0.1/tcp/9/ws/webrtc'] })
  const client = await consumer(WEBRTC_DIAL_ONLY)
  expect((await ask(client, liar)).relayed).toBe(true)
  expect(await upgradeToDirect(client.node, liar.node.peerId)).toBeUndefined()
  expect(directConnection(client.node.libp2p, liar.node.peerId)).toBeUndefined()
  const started = performance.now()
  expect(await upgradeToDirect(client.node, liar.node.peerId)).toBeUndefined()
  expect(performance.now() - started).toBeLessThan(DIRECT_UPGRADE.identifyWaitMs)
  expect((await ask(client, liar)).relayed).toBe(true)
})

test('a consumer that only dials WebRTC takes no WebRTC connection: a node dialling it that way is refused', async () => {
  const client = await consumer(WEBRTC_DIAL_ONLY)
  await client.node.waitForReservation(10_000) // so what refuses the dial is the client, not the relay
  const other = await provider(WEBRTC_ON_LOOPBACK)
  const toClient = multiaddr(`${relay.multiaddr}/p2p-circuit/webrtc/p2p/${client.node.peerId.toString()}`)
  await expect(other.node.libp2p.dial(toClient, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
  expect(directConnection(other.node.libp2p, client.node.peerId)).toBeUndefined()
  // The same node listening on /webrtc is reachable that way.
  const listening = await consumer(WEBRTC_ON_LOOPBACK)
  await listening.node.waitForReservation(10_000)
  const toListening = multiaddr(`${relay.multiaddr}/p2p-circuit/webrtc/p2p/${listening.node.peerId.toString()}`)
  const connection = await other.node.libp2p.dial(toListening, { signal: AbortSignal.timeout(10_000) })
  expect(isRelayed(connection)).toBe(false)
})
