/**
 * `npm run bench:p2p`: figures of the network layer on this machine, with a real relay (child process) and real
 * in-process libp2p nodes — connection set-up (also WebRTC between Node nodes, with and without the fix in
 * `src/p2p/webrtc-native.ts`), gossip propagation to 95% of N peers (N = 10, 50, 100), gossip
 * bytes a consumer receives as providers grow, stream round trip, tokens per second through the protocol with the
 * in-memory engine at full speed, and remote-minus-local time to first token: through the relay, and from a node
 * the consumer reached directly (it listens on an address of its own, as a server node with `--listen` does).
 * Prints a table per figure and one JSON line with everything at the end. Runs in about two minutes on 2 cores.
 * Also over WebRTC (`webrtc`, needs root for a network namespace): browser to browser, and a Node consumer (what
 * the SDK and the gateway run) to a browser node, through the relay and then directly, against the browser node's
 * own engine. `npm run bench:p2p -- stream webrtc` runs only those sections.
 */
import '../lib/node-shims.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { announcementTopic } from '../../core/announcement.ts'
import type { ChatCompletionRequest, InferenceRequest, ModelSpec } from '../../core/inference.ts'
import { createMemoryEngine } from '../../engine/memory/memory-engine.ts'
import { createAnnouncer, type Announcer } from '../../p2p/announcer.ts'
import { announcementGate, watchTopic } from '../../p2p/gossip.ts'
import { infer } from '../../p2p/infer-client.ts'
import { createModelexNode, type ModelexNode, type ModelexNodeOptions } from '../../p2p/node.ts'
import { toPeerId, upgradeToDirect } from '../../p2p/dial.ts'
import { warmUp } from '../../p2p/warm.ts'
import { NATIVE_WEBRTC_FIX } from '../../p2p/webrtc-native.ts'
import { startConsumer, startProvider, TEST_MODEL } from '../../p2p/testing.ts'
import { startFixtureServer } from '../testing/fixture-server.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'
import { startProcess, type ManagedProcess } from '../lib/process.ts'
import type { Page } from 'playwright-core'
import { call, startWebRtcLab } from '../testing/webrtc-lab.ts'

const results: Record<string, unknown> = {}
/** `npm run bench:p2p -- stream webrtc` runs only those sections (setup, stream, load, gossip, webrtc); none: all. */
const sections = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const wanted = (section: string) => sections.length === 0 || sections.includes(section)
const log = (line: string) => console.log(line)
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}
const ms = (value: number) => `${value.toFixed(1)} ms`
const sleep = (duration: number) => new Promise((resolve) => setTimeout(resolve, duration))
/** Between timed requests: a user's requests are not back to back (and the next warm stream opens in between). */
const PAUSE_MS = 20
/** First-token rotation (stream section): requests per path before timing, rounds, and requests per path a round. */
const ROTATION_WARMUP = 200
const ROTATION_ROUNDS = 4
const ROTATION_REQUESTS = 25

async function plainNode(relay: string): Promise<ModelexNode> {
  const node = await createModelexNode({ relays: [relay], runtime: 'node' })
  await node.start()
  return node
}

async function connectionSetup(relay: RelayProcess): Promise<void> {
  const toRelay: number[] = []
  const throughRelay: number[] = []
  const target = await plainNode(relay.multiaddr)
  await target.waitForReservation(10_000)
  for (let i = 0; i < 10; i++) {
    const node = await createModelexNode({ runtime: 'node', listen: [] })
    await node.libp2p.start()
    let started = performance.now()
    await node.libp2p.dial(multiaddr(relay.multiaddr))
    toRelay.push(performance.now() - started)
    started = performance.now()
    await node.libp2p.dial(multiaddr(`${relay.multiaddr}/p2p-circuit/p2p/${target.peerId.toString()}`))
    throughRelay.push(performance.now() - started)
    await node.libp2p.stop()
  }
  await target.stop()
  results['connectionSetupMs'] = { toRelayMedian: median(toRelay), throughRelayMedian: median(throughRelay) }
  log(
    `connection set-up (median of 10): to the relay (WebSocket + noise + yamux) ${ms(median(toRelay))}; to a peer through the relay (circuit v2) ${ms(median(throughRelay))}`,
  )
}

/** WebRTC set-up (setup section): rounds, and dials per round with and without the fix (interleaved). */
const WEBRTC_SETUP_ROUNDS = 3
const WEBRTC_SETUP_DIALS = 10

/**
 * WebRTC set-up from a Node consumer to a Node node with no address of its own, signalled through the relay, as
 * `upgradeToDirect` makes it behind a first relayed answer: with the offering side's ICE candidates held until the
 * answer is applied (`src/p2p/webrtc-native.ts`) and without, in alternating rounds of the same run. A dial that
 * fails ends at libp2p's per-address timeout (6 s); it counts as failed, not in the times.
 */
async function webrtcSetup(relay: RelayProcess): Promise<void> {
  const options = { relays: [relay.multiaddr], runtime: 'node', webrtc: true, iceBindAddress: '127.0.0.1' } as const
  const target = await createModelexNode(options)
  await target.start()
  await target.waitForReservation(10_000)
  const rows = { with: { times: [] as number[], failed: 0 }, without: { times: [] as number[], failed: 0 } }
  try {
    for (let round = 0; round < WEBRTC_SETUP_ROUNDS * 2; round++) {
      const variant = round % 2 === 0 ? 'with' : 'without'
      NATIVE_WEBRTC_FIX.holdOfferCandidates = variant === 'with'
      for (let i = 0; i < WEBRTC_SETUP_DIALS; i++) {
        const node = await createModelexNode({ ...options, listen: ['/p2p-circuit'] })
        await node.start()
        try {
          await node.libp2p.dial(multiaddr(`${relay.multiaddr}/p2p-circuit/p2p/${target.peerId.toString()}`))
          const started = performance.now()
          await node.libp2p
            .dial(multiaddr(`${relay.multiaddr}/p2p-circuit/webrtc/p2p/${target.peerId.toString()}`))
            .then(
              () => rows[variant].times.push(performance.now() - started),
              () => rows[variant].failed++,
            )
        } finally {
          await node.stop()
        }
      }
    }
  } finally {
    NATIVE_WEBRTC_FIX.holdOfferCandidates = true
    await target.stop()
  }
  const summary = (row: { times: number[]; failed: number }) => ({
    p50Ms: median(row.times),
    p90Ms: percentile(row.times, 90),
    failed: row.failed,
    dials: row.times.length + row.failed,
  })
  const summaries = { with: summary(rows.with), without: summary(rows.without) }
  results['webrtcSetup'] = summaries
  for (const variant of ['with', 'without'] as const) {
    const row = summaries[variant]
    log(
      `WebRTC set-up, Node to Node through the relay, ${variant === 'with' ? 'offer candidates held (now)' : 'not held (before) '}: p50 ${ms(row.p50Ms)}, p90 ${ms(row.p90Ms)}, failed ${row.failed} of ${row.dials}`,
    )
  }
}

async function gossipPropagation(relay: RelayProcess): Promise<void> {
  const rows: Record<number, { p95Ms: number; p50Ms: number; reached: number }> = {}
  for (const n of [10, 50, 100]) {
    const consumers: ModelexNode[] = []
    const arrivals: number[][] = []
    const topic = announcementTopic(TEST_MODEL.contentHash)
    for (let i = 0; i < n; i++) {
      const node = await plainNode(relay.multiaddr)
      const gate = announcementGate()
      watchTopic(node.libp2p.services.pubsub, topic, gate.validate)
      const index = i
      arrivals[index] = []
      node.libp2p.services.pubsub.addEventListener('message', (event) => {
        if (event.detail.topic === topic && gate.take(event.detail)) arrivals[index]?.push(performance.now())
      })
      consumers.push(node)
    }
    const provider = await plainNode(relay.multiaddr)
    const key = generatePrivateKey()
    const announcer = createAnnouncer(provider, {
      signer: { privateKey: key, address: privateKeyToAddress(key) },
      operator: privateKeyToAddress(key),
      chainId: 31337,
      intervalMs: 3_600_000,
      state: () => ({
        models: [
          {
            id: TEST_MODEL.id,
            contentHash: TEST_MODEL.contentHash as Hex,
            engine: 'memory',
            contextLength: 8192,
            tokensPerSecond: 1,
          },
        ],
        pricePerMillionInput: '1',
        pricePerMillionOutput: '1',
        capacity: 1,
        queueDepth: 0,
      }),
    })
    await announcer.start()
    // Let subscriptions and meshes settle (a few heartbeats) before timing.
    await sleep(3_000)
    const samples: number[] = []
    const medians: number[] = []
    let reachedTotal = 0
    for (let round = 0; round < 3; round++) {
      for (const a of arrivals) a?.splice(0)
      const started = performance.now()
      await announcer.announce()
      await sleep(4_000)
      const times = arrivals.map((a) => (a && a.length ? (a[0] as number) - started : Number.POSITIVE_INFINITY))
      samples.push(percentile(times, 95))
      medians.push(median(times))
      reachedTotal += times.filter(Number.isFinite).length
    }
    rows[n] = { p95Ms: median(samples), p50Ms: median(medians), reached: reachedTotal / 3 / n }
    log(
      `gossip propagation, N = ${String(n).padStart(3)}: 95% of peers after ${ms(rows[n].p95Ms)} (median peer ${ms(rows[n].p50Ms)}), ${(rows[n].reached * 100).toFixed(0)}% reached within 4 s (median of 3 announcements)`,
    )
    await announcer.stop()
    await provider.stop()
    await Promise.all(consumers.map((c) => c.stop()))
  }
  results['gossipPropagation'] = rows
}

async function gossipLoad(relay: RelayProcess): Promise<void> {
  const rows: Record<number, { bytesPerSecondAt30s: number; otherModelBytes: number; announcementBytes: number }> = {}
  const watched = announcementTopic(TEST_MODEL.contentHash)
  const otherHash = `0x${'22'.repeat(32)}` as Hex
  const consumer = await plainNode(relay.multiaddr)
  const bystander = await plainNode(relay.multiaddr)
  let bytes = 0
  let otherBytes = 0
  let count = 0
  const gate = announcementGate()
  const otherGate = announcementGate()
  watchTopic(consumer.libp2p.services.pubsub, watched, gate.validate)
  // A consumer of another model: with one topic per model it hears none of these providers.
  watchTopic(bystander.libp2p.services.pubsub, announcementTopic(otherHash), otherGate.validate)
  consumer.libp2p.services.pubsub.addEventListener('message', (event) => {
    if (gate.take(event.detail)) {
      bytes += event.detail.data.length
      count++
    }
  })
  bystander.libp2p.services.pubsub.addEventListener('message', (event) => {
    otherBytes += event.detail.data.length
  })
  const providers: { node: ModelexNode; announcer: Announcer }[] = []
  for (const p of [1, 10, 50]) {
    while (providers.length < p) {
      const node = await plainNode(relay.multiaddr)
      const key = generatePrivateKey()
      const announcer = createAnnouncer(node, {
        signer: { privateKey: key, address: privateKeyToAddress(key) },
        operator: privateKeyToAddress(key),
        chainId: 31337,
        intervalMs: 3_600_000,
        state: () => ({
          models: [
            {
              id: TEST_MODEL.id,
              contentHash: TEST_MODEL.contentHash as Hex,
              engine: 'memory',
              contextLength: 8192,
              tokensPerSecond: 12.5,
            },
          ],
          pricePerMillionInput: '1000000000000000',
          pricePerMillionOutput: '2000000000000000',
          capacity: 2,
          queueDepth: 0,
        }),
      })
      providers.push({ node, announcer })
    }
    await Promise.all(providers.map((x) => x.announcer.start()))
    await sleep(2_000)
    bytes = 0
    otherBytes = 0
    count = 0
    // Three announcement rounds, as the 30 s timer would send them, compressed in time.
    for (let round = 0; round < 3; round++) {
      await Promise.all(providers.map((x) => x.announcer.announce()))
      await sleep(1_500)
    }
    const perAnnouncement = count ? bytes / count : 0
    rows[p] = {
      bytesPerSecondAt30s: bytes / 3 / 30,
      otherModelBytes: otherBytes,
      announcementBytes: Math.round(perAnnouncement),
    }
    log(
      `gossip load, ${String(p).padStart(2)} providers announcing every 30 s: a consumer of that model receives ${rows[p].bytesPerSecondAt30s.toFixed(1)} B/s of announcements (${rows[p].announcementBytes} B each; ${count} messages received in 3 rounds of ${p}); a consumer of another model: ${otherBytes} B`,
    )
    await Promise.all(providers.map((x) => x.announcer.stop()))
  }
  await Promise.all(providers.map((x) => x.node.stop()))
  await consumer.stop()
  await bystander.stop()
  results['gossipLoad'] = rows
}

async function streaming(relay: RelayProcess): Promise<void> {
  const provider = await startProvider({
    relay: relay.multiaddr,
    tokenDelayMs: 0,
    server: { limits: { ratePerSecond: 10_000, rateBurst: 10_000, maxTokens: 8192 } },
  })
  const client = await startConsumer({ relay: relay.multiaddr, directory: { pingIntervalMs: 3_600_000 } })
  const chat = (max_tokens: number): InferenceRequest => ({
    kind: 'chat',
    model: TEST_MODEL.id,
    messages: [{ role: 'user', content: 'bench' }],
    max_tokens,
    temperature: 0,
    seed: 0,
  })
  const run = async (max_tokens: number) => {
    const started = performance.now()
    let first = 0
    let tokens = 0
    const call = infer(client.node, { peer: provider.node.peerId, request: chat(max_tokens) })
    for await (const delta of call) {
      if (tokens === 0) first = performance.now() - started
      tokens += delta.tokens
    }
    const outcome = await call.result
    return { totalMs: performance.now() - started, firstMs: first, tokens, relayed: outcome.relayed }
  }
  await run(1) // Connection set-up outside the timings.
  // Cold: a new stream per request (protocol negotiation first). Warm: the node was picked ahead (`warmUp`), so a
  // negotiated stream waits and the next one is opened after each answer. Requests a few ms apart, as a user's are.
  const coldTrips: number[] = []
  for (let i = 0; i < 30; i++) {
    coldTrips.push((await run(1)).totalMs)
    await sleep(PAUSE_MS)
  }
  const warm = warmUp(client.node, provider.node.peerId)
  await warm.ready
  const roundTrips: number[] = []
  for (let i = 0; i < 50; i++) {
    roundTrips.push((await run(1)).totalMs)
    await sleep(PAUSE_MS)
  }
  const relayed = (await run(1)).relayed
  warm.stop()

  const throughput: number[] = []
  for (let i = 0; i < 5; i++) {
    const r = await run(8000)
    throughput.push((r.tokens * 1000) / r.totalMs)
  }
  const engine = createMemoryEngine({ tokenDelayMs: 0 })
  await engine.load(TEST_MODEL as ModelSpec)
  const body: ChatCompletionRequest = {
    model: TEST_MODEL.id,
    messages: [{ role: 'user', content: 'bench' }],
    max_tokens: 8000,
    temperature: 0,
    seed: 0,
  }
  const localRates: number[] = []
  for (let i = 0; i < 5; i++) {
    const started = performance.now()
    const r = await engine.chat(body)
    localRates.push((r.usage.completion_tokens * 1000) / (performance.now() - started))
  }

  const remoteFirst: number[] = []
  const localFirst: number[] = []
  /** A node serving the engine at 5 ms/token, with rate limits out of the way (the bench asks faster than a person). */
  const slowProviderWith = (node: ModelexNodeOptions = {}) =>
    startProvider({
      relay: relay.multiaddr,
      tokenDelayMs: 5,
      server: { limits: { ratePerSecond: 10_000, rateBurst: 10_000 } },
      node,
    })
  const slowProvider = await slowProviderWith()
  const slowEngine = createMemoryEngine({ tokenDelayMs: 5 })
  await slowEngine.load(TEST_MODEL as ModelSpec)
  const runOn = async (peer: typeof slowProvider, from: typeof client = client) => {
    const started = performance.now()
    let first = 0
    const call = infer(from.node, { peer: peer.node.peerId, request: chat(4) })
    for await (const _ of call) if (!first) first = performance.now() - started
    await call.result
    return first
  }
  await runOn(slowProvider)
  const localOnce = async () => {
    const started = performance.now()
    let first = 0
    await slowEngine.chat({ ...body, max_tokens: 4 }, { onDelta: () => void (first ||= performance.now() - started) })
    return first
  }
  const coldFirst: number[] = []
  for (let i = 0; i < 30; i++) {
    coldFirst.push(await runOn(slowProvider))
    localFirst.push(await localOnce())
  }
  // The three ways a consumer reaches a node, each set up first and kept warm (`warmUp`), then measured in rotation:
  // every path sees the same JIT, GC and machine state, where one path after another would give the first the
  // coldest code and the last the warmest (a few tenths of a millisecond here). The relayed node has no address of
  // its own and no WebRTC; the direct one also listens on an address (a server node's `--listen`); the WebRTC one has
  // no address but takes WebRTC (a browser node, or a server node with `--webrtc`), and its consumer has WebRTC and
  // only dials (the SDK, the gateway). The last two are reached through the relay first and upgraded behind that
  // answer (dial.ts). ICE is bound to loopback, as the test rules ask.
  const directPort = await freePort()
  const directProvider = await slowProviderWith({ listen: ['/p2p-circuit', `/ip4/127.0.0.1/tcp/${directPort}/ws`] })
  const onLoopback = { webrtc: true, iceBindAddress: '127.0.0.1' }
  const rtcProvider = await slowProviderWith(onLoopback)
  const rtcClient = await startConsumer({
    relay: relay.multiaddr,
    node: { ...onLoopback, listen: ['/p2p-circuit'] },
    directory: { pingIntervalMs: 3_600_000 },
  })
  const paths = [
    { peer: slowProvider, from: client },
    { peer: directProvider, from: client },
    { peer: rtcProvider, from: rtcClient },
  ].map((path) => ({ ...path, remote: [] as number[], local: [] as number[], roundOverheads: [] as number[] }))
  const [relayedPath, directPath, rtcPath] = paths as [(typeof paths)[0], (typeof paths)[0], (typeof paths)[0]]
  await runOn(directProvider)
  const upgraded = await upgradeToDirect(client.node, directProvider.node.peerId)
  await runOn(rtcProvider, rtcClient)
  const overWebRtc = await upgradeToDirect(rtcClient.node, rtcProvider.node.peerId)
  const warmed = paths.map((path) => warmUp(path.from.node, path.peer.node.peerId))
  await Promise.all(warmed.map((warm) => warm.ready))
  for (let i = 0; i < ROTATION_WARMUP; i++) for (const path of paths) await runOn(path.peer, path.from)
  for (let round = 0; round < ROTATION_ROUNDS; round++) {
    // Each round starts with another path, so none always follows the same one.
    for (let k = 0; k < paths.length; k++) {
      const path = paths[(round + k) % paths.length]!
      const remote: number[] = []
      const local: number[] = []
      for (let i = 0; i < ROTATION_REQUESTS; i++) {
        remote.push(await runOn(path.peer, path.from))
        local.push(await localOnce())
      }
      path.remote.push(...remote)
      path.local.push(...local)
      path.roundOverheads.push(median(remote) - median(local))
    }
  }
  for (const warm of warmed) warm.stop()
  remoteFirst.push(...relayedPath.remote)
  localFirst.push(...relayedPath.local)
  const { remote: directFirst, local: directLocal } = directPath
  const { remote: webrtcFirst, local: webrtcLocal } = rtcPath
  /** "min–max" of a path's per-round remote − local medians: how much the figure moves within one run. */
  const spread = (path: (typeof paths)[0]) =>
    `${Math.min(...path.roundOverheads).toFixed(1)}–${Math.max(...path.roundOverheads).toFixed(1)} ms`
  await rtcClient.stop()
  await rtcProvider.stop()
  await directProvider.stop()
  const floor = await machineFloor()
  results['stream'] = {
    roundTripMedianMs: median(roundTrips),
    roundTripP95Ms: percentile(roundTrips, 95),
    roundTripColdMedianMs: median(coldTrips),
    firstTokenRemoteColdMedianMs: median(coldFirst),
    relayed,
    tokensPerSecondRemoteMedian: median(throughput),
    tokensPerSecondLocalMedian: median(localRates),
    firstTokenRemoteMedianMs: median(remoteFirst),
    firstTokenLocalMedianMs: median(localFirst),
    firstTokenOverheadMs: median(remoteFirst) - median(localFirst),
    firstTokenOverheadRoundsMs: relayedPath.roundOverheads,
    direct: upgraded !== undefined,
    firstTokenDirectMedianMs: median(directFirst),
    firstTokenDirectLocalMedianMs: median(directLocal),
    firstTokenDirectOverheadMs: median(directFirst) - median(directLocal),
    firstTokenDirectOverheadRoundsMs: directPath.roundOverheads,
    webrtc: overWebRtc?.remoteAddr.toString().includes('/webrtc') === true,
    firstTokenWebrtcMedianMs: median(webrtcFirst),
    firstTokenWebrtcLocalMedianMs: median(webrtcLocal),
    firstTokenWebrtcOverheadMs: median(webrtcFirst) - median(webrtcLocal),
    firstTokenWebrtcOverheadRoundsMs: rtcPath.roundOverheads,
    floorRelayedMs: floor.relayedMs,
    floorDirectMs: floor.directMs,
  }
  log(
    `stream round trip (request of 1 token, ${relayed ? 'relayed circuit' : 'direct'}, node kept warm): median ${ms(median(roundTrips))}, p95 ${ms(percentile(roundTrips, 95))} (50 requests); cold (a new stream per request) median ${ms(median(coldTrips))} (30)`,
  )
  log(
    `tokens/s through the protocol (in-memory engine, no delay, 8000 tokens, median of 5): ${median(throughput).toFixed(0)} tokens/s remote vs ${median(localRates).toFixed(0)} tokens/s calling the engine directly`,
  )
  log(
    `time to first token through the relay (engine at 5 ms/token, node kept warm, median of ${ROTATION_ROUNDS * ROTATION_REQUESTS} in rotation with the two below; cold: of 30): remote ${ms(median(remoteFirst))}, local ${ms(median(localFirst))}, remote − local ${ms(median(remoteFirst) - median(localFirst))} (rounds ${spread(relayedPath)}); cold remote ${ms(median(coldFirst))} (remote − local ${ms(median(coldFirst) - median(localFirst))})`,
  )
  log(
    `time to first token from a node listening on its own address (${upgraded ? 'upgraded to a direct connection' : 'NOT upgraded: still relayed'}, kept warm, median of ${ROTATION_ROUNDS * ROTATION_REQUESTS}): remote ${ms(median(directFirst))}, local ${ms(median(directLocal))}, remote − local ${ms(median(directFirst) - median(directLocal))} (rounds ${spread(directPath)})`,
  )
  log(
    `time to first token from a node with no address of its own, over WebRTC (${overWebRtc?.remoteAddr.toString().includes('/webrtc') ? 'upgraded behind the first answer' : 'NOT upgraded: still relayed'}, both in Node, ICE on loopback, kept warm, median of ${ROTATION_ROUNDS * ROTATION_REQUESTS}): remote ${ms(median(webrtcFirst))}, local ${ms(median(webrtcLocal))}, remote − local ${ms(median(webrtcFirst) - median(webrtcLocal))} (rounds ${spread(rtcPath)})`,
  )
  log(
    `the machine's floor in the same rhythm, without libp2p (plain TCP on loopback, an answer after a 5 ms timer in another process, ${PAUSE_MS} ms apart, median of 100, less the same timer in this process): through a piping process (a relay's two hops) ${ms(floor.relayedMs)}, straight ${ms(floor.directMs)}`,
  )
  log(
    `remote − local first token, goal ≤ 2 ms (same run, in rotation): direct ${ms(median(directFirst) - median(directLocal))}, WebRTC ${ms(median(webrtcFirst) - median(webrtcLocal))}, relayed circuit (the fallback) ${ms(median(remoteFirst) - median(localFirst))}; of which the machine's floor without libp2p ${ms(floor.directMs)} straight, ${ms(floor.relayedMs)} through a piping process`,
  )
  await slowProvider.stop()
  await client.stop()
  await provider.stop()
}

/**
 * Plain TCP on loopback in the rhythm of the first-token figures (an answer 5 ms after the request, requests
 * PAUSE_MS apart), through a piping process and straight (`raw-hop.ts`), each less the same 5 ms timer run in this
 * process: what waking processes and moving bytes through the kernel costs here before any of libp2p's work.
 */
async function machineFloor(): Promise<{ relayedMs: number; directMs: number }> {
  const script = join(import.meta.dirname, 'raw-hop.ts')
  const started: ManagedProcess[] = []
  const start = async (name: string, args: string[]) => {
    const child = startProcess(name, process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: join(import.meta.dirname, '../../..'),
    })
    started.push(child)
    await child.waitForLine(/"event":"listening"/, 30_000)
  }
  const timed = async (port: number) => {
    const socket = createConnection({ port, host: '127.0.0.1', noDelay: true })
    await once(socket, 'connect')
    const times: number[] = []
    const request = new Uint8Array(200)
    try {
      for (let i = 0; i < 110; i++) {
        const sent = performance.now()
        socket.write(request)
        await once(socket, 'data')
        if (i >= 10) times.push(performance.now() - sent)
        await sleep(PAUSE_MS)
      }
    } finally {
      socket.destroy()
    }
    return median(times)
  }
  const timer: number[] = []
  for (let i = 0; i < 100; i++) {
    const at = performance.now()
    await sleep(5)
    timer.push(performance.now() - at)
    await sleep(PAUSE_MS)
  }
  try {
    const serverPort = await freePort()
    const relayPort = await freePort()
    await start('raw-server', ['server', String(serverPort), '5'])
    await start('raw-relay', ['relay', String(relayPort), String(serverPort)])
    const relayed = await timed(relayPort)
    const direct = await timed(serverPort)
    return { relayedMs: relayed - median(timer), directMs: direct - median(timer) }
  } finally {
    for (const child of started) await child.stop()
  }
}

const NODE_TO_BROWSER_REQUESTS = 100

/**
 * A Node consumer and a browser node (a Chromium page in the lab): first a consumer without WebRTC, whose requests
 * all go through the relay; then one with it, which upgrades to a direct WebRTC connection behind its first answer
 * (dial.ts). Both keep the node warm; between requests the node's own engine is called in its page (local).
 */
async function nodeConsumerToBrowser(relay: string, peer: string, page: Page) {
  const request = (): InferenceRequest => ({
    kind: 'chat',
    model: 'memory-tiny',
    messages: [{ role: 'user', content: 'bench' }],
    max_tokens: 4,
    temperature: 0,
    seed: 0,
  })
  const local: number[] = []
  const measure = async (consumer: Awaited<ReturnType<typeof startConsumer>>) => {
    const firsts: number[] = []
    let relayed = false
    const warmth = warmUp(consumer.node, peer)
    await warmth.ready
    for (let i = 0; i < NODE_TO_BROWSER_REQUESTS; i++) {
      const started = performance.now()
      let first = 0
      const answer = infer(consumer.node, { peer, request: request() })
      for await (const _ of answer) first ||= performance.now() - started
      relayed ||= (await answer.result).relayed
      firsts.push(first)
      local.push(await call(page, 'localFirstTokenMs', 4))
      await sleep(PAUSE_MS)
    }
    warmth.stop()
    return { firstMs: median(firsts), relayed }
  }
  const viaRelay = await startConsumer({ relay, node: { webrtc: false }, directory: { pingIntervalMs: 3_600_000 } })
  const throughRelay = await measure(viaRelay).finally(() => viaRelay.stop())
  const withRtc = await startConsumer({
    relay,
    node: { webrtc: true, listen: ['/p2p-circuit'] }, // as the SDK and the gateway: dial only
    directory: { pingIntervalMs: 3_600_000 },
  })
  try {
    const first = infer(withRtc.node, { peer, request: request() })
    for await (const _ of first);
    await first.result
    const upgraded = await upgradeToDirect(withRtc.node, toPeerId(peer))
    const overWebRtc = await measure(withRtc)
    const localMs = median(local)
    return {
      relayedFirstTokenMs: throughRelay.firstMs,
      relayedOverheadMs: throughRelay.firstMs - localMs,
      allRelayed: throughRelay.relayed,
      upgraded: upgraded !== undefined && !overWebRtc.relayed,
      webrtcFirstTokenMs: overWebRtc.firstMs,
      webrtcOverheadMs: overWebRtc.firstMs - localMs,
      localFirstTokenMs: localMs,
    }
  } finally {
    await withRtc.stop()
  }
}

/**
 * Browser to browser over WebRTC (two Chromium pages in a network namespace, see webrtc-lab.ts): the first answer
 * from a node not yet connected (set-up included), then the same node picked ahead (`warmUp`): how long the pick
 * takes to be ready, and the time to first token of the requests after it. Needs root and `ip`; else it says why.
 */
async function webrtc(): Promise<void> {
  const dev = await startFixtureServer()
  const lab = await startWebRtcLab(dev.url)
  try {
    if (lab.skipReason) {
      log(`WebRTC (browser to browser): skipped, ${lab.skipReason}`)
      results['webrtc'] = { skipped: lab.skipReason }
      return
    }
    const relayAddress = lab.relay!.multiaddr
    const provider = await lab.openFixture()
    const served = await call(provider.page, 'start', {
      relay: relayAddress,
      role: 'provider',
      tokenDelayMs: 5,
      requestsPerSecond: 10_000,
    })
    const cold: number[] = []
    const pick: number[] = []
    const warm: number[] = []
    let direct = true
    // Three consumers, each new to the node: its first answer includes the connection set-up; then it picks the node.
    for (let i = 0; i < 3; i++) {
      const consumer = await lab.openFixture()
      await call(consumer.page, 'start', { relay: relayAddress, role: 'consumer' })
      await call(consumer.page, 'discover', served.peerId)
      const first = await call(consumer.page, 'request', served.peerId, 4)
      cold.push(first.firstTokenMs)
      await call(consumer.page, 'stop')
      await consumer.page.close()
      const picker = await lab.openFixture()
      await call(picker.page, 'start', { relay: relayAddress, role: 'consumer' })
      await call(picker.page, 'discover', served.peerId)
      const started = performance.now()
      await call(picker.page, 'warm', served.peerId)
      pick.push(performance.now() - started)
      for (let j = 0; j < 10; j++) {
        const answer = await call(picker.page, 'request', served.peerId, 4)
        direct &&= !answer.relayed
        warm.push(answer.firstTokenMs)
        await sleep(PAUSE_MS)
      }
      await call(picker.page, 'stop')
      await picker.page.close()
    }
    const fromNode = await nodeConsumerToBrowser(relayAddress, served.peerId, provider.page)
    await call(provider.page, 'stop')
    results['webrtc'] = {
      firstTokenColdMedianMs: median(cold),
      pickReadyMedianMs: median(pick),
      firstTokenWarmMedianMs: median(warm),
      firstTokenWarmP95Ms: percentile(warm, 95),
      direct,
      nodeConsumer: fromNode,
    }
    log(
      `WebRTC browser to browser (engine at 5 ms/token): first token from a node not yet connected ${ms(median(cold))} (set-up included, median of 3); node picked ahead: ready ${ms(median(pick))} after the pick, then first token ${ms(median(warm))} median, p95 ${ms(percentile(warm, 95))} (30 requests, ${direct ? 'direct WebRTC' : 'some relayed'})`,
    )
    log(
      `Node consumer to a browser node (engine at 5 ms/token, node kept warm, median of ${NODE_TO_BROWSER_REQUESTS}): through the relay remote ${ms(fromNode.relayedFirstTokenMs)}, remote − local ${ms(fromNode.relayedOverheadMs)}; over WebRTC (${fromNode.upgraded ? 'upgraded behind the first answer' : 'NOT upgraded: still relayed'}) remote ${ms(fromNode.webrtcFirstTokenMs)}, remote − local ${ms(fromNode.webrtcOverheadMs)}; local (the node's engine called in its page) ${ms(fromNode.localFirstTokenMs)}`,
    )
  } finally {
    await lab.stop()
    await dev.close()
  }
}

async function main(): Promise<void> {
  const started = performance.now()
  const dir = await mkdtemp(join(tmpdir(), 'modelex-bench-p2p-'))
  const relay = await startRelayProcess({
    port: await freePort(),
    keyFile: join(dir, 'relay.key'),
    metricsIntervalMs: 0,
  })
  log(`relay: ${relay.multiaddr} (pid ${relay.process.pid})`)
  try {
    if (wanted('setup')) await connectionSetup(relay)
    if (wanted('setup')) await webrtcSetup(relay)
    if (wanted('stream')) await streaming(relay)
    if (wanted('load')) await gossipLoad(relay)
    if (wanted('gossip')) await gossipPropagation(relay)
    if (wanted('webrtc')) await webrtc()
  } finally {
    await relay.process.stop()
    await rm(dir, { recursive: true, force: true })
  }
  results['totalSeconds'] = (performance.now() - started) / 1000
  log(`total ${(results['totalSeconds'] as number).toFixed(0)} s`)
  console.log(JSON.stringify({ bench: 'p2p', ...results }))
}

await main()
process.exit(0)
