/**
 * The relay (`npm run relay -- --port N --key-file F`): a libp2p node that browsers reach over WebSockets, with a
 * circuit-relay v2 server (explicit limits) through which peers reach each other and set up WebRTC, and gossipsub
 * on the Modelex topics — it joins each announcement topic its peers join, validating what it forwards, and keeps
 * the newest announcement of each node per topic for peers that join later (`/modelex/announcements/1.0.0`), and the
 * attestation topic (validated without a chain view: schema, rules, nonce, signature), keeping the latest accepted
 * attestation of each stream (per signer, evaluator, node, model and suite; bounded per signer and overall) for peers
 * that start later (`/modelex/attestations/1.0.0`), and the async jobs topic (validated without a chain view too). Its key lives in a file, so its peer id and multiaddr stay the same across restarts. It prints its multiaddr as one JSON
 * line, a metrics line every `--metrics-interval-ms`, and stops cleanly on SIGINT/SIGTERM.
 *
 * Options: --host (127.0.0.1), --port (9090; 0 picks a free one), --key-file (.modelex/relay.key), --max-reservations,
 * --metrics-interval-ms (60000; 0 for none).
 */
import '../lib/node-shims.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { ping, type Ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { announcementTopic, topicContentHash } from '../../core/announcement.ts'
import { attestationGate } from '../../p2p/attestations.ts'
import { ATTESTATION_TOPIC_SCORE, ATTESTATIONS_TOPIC, JOBS_TOPIC, JOBS_TOPIC_SCORE, RELAY_DEFAULTS } from '../../p2p/constants.ts'
import { jobsGate } from '../../p2p/jobs.ts'
import { LatestAnnouncements } from '../../core/latest-announcements.ts'
import { LatestAttestations, type LatestAttestationsOptions } from '../../core/latest-attestations.ts'
import { announcementGate, modelexGossipsub, watchTopic } from '../../p2p/gossip.ts'
import { serveDirectory, type DirectoryServiceCounts } from '../../p2p/directory-service.ts'
import { serveLatestAnnouncements } from '../../p2p/latest-announcements.ts'
import { serveLatestAttestations, type LatestAttestationsServerCounts, type LatestAttestationsSource } from '../../p2p/latest-attestations.ts'
import { modelexWebSockets, modelexYamux } from '../../p2p/transport-tuning.ts'
import { loadOrCreatePeerKeyFile } from '../../store/key-file.ts'

export type RelayOptions = {
  host: string
  port: number
  keyFile: string
  maxReservations?: number
  /** IPs exempt from gossipsub's same-IP penalty (loopback by default: the local stack and tests). */
  colocationWhitelist?: readonly string[]
  /**
   * Networks exempt from libp2p's per-host limit on new connections (5 per second): loopback by default, where
   * every peer of the local stack, the tests and the benchmarks shares one address. Others keep the limit.
   */
  unthrottled?: readonly string[]
  /** Bounds of the cache of latest attestations. */
  latestAttestations?: LatestAttestationsOptions
  /**
   * For the adversarial suite only: wraps what the relay serves from its attestation cache (a relay that adds forged
   * entries to its answers). An honest relay serves its cache as is.
   */
  bendLatestAttestations?: (honest: LatestAttestationsSource) => LatestAttestationsSource
}

export type RelayMetrics = {
  peers: number
  connections: number
  reservations: number
  topics: number
  messages: { accepted: number; rejected: number; ignored: number }
  attestations: { accepted: number; rejected: number; ignored: number }
  jobs: { accepted: number; rejected: number; ignored: number }
  /** The attestation cache: streams held, and its protocol's requests, attestations served and malformed requests. */
  latestAttestations: LatestAttestationsServerCounts & { held: number }
  /** The directory query protocol: queries, open watches, announcements published to it, refused, malformed; nodes held. */
  directory: DirectoryServiceCounts & { held: number }
}

export type Relay = {
  readonly multiaddr: string
  readonly peerId: string
  readonly libp2p: Libp2p<RelayServices>
  metrics(): RelayMetrics
  stop(): Promise<void>
}

type RelayServices = { identify: Identify; ping: Ping; relay: CircuitRelayService; pubsub: GossipSub }

export async function startRelay({
  host,
  port,
  keyFile,
  maxReservations = RELAY_DEFAULTS.maxReservations,
  colocationWhitelist = ['127.0.0.1', '::1'],
  unthrottled = ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128'],
  latestAttestations: cacheOptions = {},
  bendLatestAttestations = (honest) => honest,
}: RelayOptions): Promise<Relay> {
  const privateKey = await loadOrCreatePeerKeyFile(keyFile)
  const libp2p = await createLibp2p<RelayServices>({
    privateKey,
    addresses: { listen: [`/ip4/${host}/tcp/${port}/ws`] },
    transports: [modelexWebSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [modelexYamux()],
    // Peers on the local stack and in tests are on private addresses; the relay must be able to talk back.
    connectionGater: { denyDialMultiaddr: () => false },
    connectionManager: { maxConnections: 4096, allow: [...unthrottled] },
    services: {
      identify: identify(),
      ping: ping({ runOnLimitedConnection: true }),
      relay: circuitRelayServer({
        maxInboundHopStreams: RELAY_DEFAULTS.maxInboundHopStreams,
        reservations: {
          maxReservations,
          reservationTtl: RELAY_DEFAULTS.reservationTtlMs,
          applyDefaultLimit: true,
          defaultDurationLimit: RELAY_DEFAULTS.durationLimitMs,
          defaultDataLimit: RELAY_DEFAULTS.dataLimitBytes,
        },
      }),
      pubsub: modelexGossipsub({ colocationWhitelist, mesh: RELAY_DEFAULTS.mesh }),
    },
  })
  const pubsub = libp2p.services.pubsub
  const gate = announcementGate()
  const joined = new Set<string>()
  // Only models' topics that peers actually join, each validated before anything is forwarded, and bounded.
  const join = (topic: string) => {
    if (joined.has(topic) || joined.size >= RELAY_DEFAULTS.maxTopics || topicContentHash(topic) === null) return
    joined.add(topic)
    watchTopic(pubsub, topic, gate.validate)
  }
  pubsub.addEventListener('subscription-change', (event) => {
    for (const { topic, subscribe } of event.detail.subscriptions) if (subscribe) join(topic)
  })
  // The newest validated announcement of each node per topic, for peers that join a topic later.
  const latest = new LatestAnnouncements({ maxTopics: RELAY_DEFAULTS.maxTopics })
  // The directory query protocol: the best N of a model, signed, with deltas (src/p2p/directory-service.ts).
  const directory = serveDirectory(libp2p, { validate: gate.check, join: (hash) => join(announcementTopic(hash)) })
  pubsub.addEventListener('message', (event) => {
    const announcement = joined.has(event.detail.topic) ? gate.take(event.detail) : undefined
    if (announcement) latest.record(event.detail.topic, announcement.peerId, announcement.timestamp, event.detail.data)
    if (announcement) directory.record(announcement, event.detail.data)
  })
  // A node that disconnects from the relay is gone from here: newcomers must not be sent to it.
  libp2p.addEventListener('peer:disconnect', (event) => latest.forget(event.detail.toString()))
  const latestService = serveLatestAnnouncements(libp2p, latest)
  // Attestations: validated without a chain view (schema, rules, nonce, signature in the declared domain); peers
  // check the registry binding themselves and only ignore, never penalise, what the relay could not check.
  const attestations = attestationGate()
  watchTopic(pubsub, ATTESTATIONS_TOPIC, attestations.validate, ATTESTATION_TOPIC_SCORE)
  // The latest accepted attestation of each stream, for peers that start later. Only what the gate accepted.
  const attestationCache = new LatestAttestations(cacheOptions)
  pubsub.addEventListener('message', (event) => {
    if (event.detail.topic !== ATTESTATIONS_TOPIC) return
    const verified = attestations.take(event.detail)
    if (verified) attestationCache.record(verified, event.detail.data)
  })
  const attestationService = serveLatestAttestations(libp2p, bendLatestAttestations(attestationCache))
  // Async jobs: validated without a chain view (size, schema, id, signature, deadline, a rate per consumer).
  const jobs = jobsGate()
  watchTopic(pubsub, JOBS_TOPIC, jobs.validate, JOBS_TOPIC_SCORE)
  await libp2p.start()
  await latestService.start()
  await directory.start()
  await attestationService.start()
  const address = libp2p.getMultiaddrs().find((m) => m.toString().includes('/ws'))
  if (!address) throw new Error('The relay has no WebSocket address.')
  return {
    multiaddr: address.toString(),
    peerId: libp2p.peerId.toString(),
    libp2p,
    metrics: () => ({
      peers: libp2p.getPeers().length,
      connections: libp2p.getConnections().length,
      reservations: libp2p.services.relay.reservations.size,
      topics: joined.size,
      messages: { ...gate.counts },
      attestations: { ...attestations.counts },
      jobs: { ...jobs.counts },
      latestAttestations: { ...attestationService.counts, held: attestationCache.size },
      directory: { ...directory.counts, held: directory.store.size },
    }),
    stop: async () => {
      await libp2p.stop()
    },
  }
}

export function readRelayOptions(argv: readonly string[], env: NodeJS.ProcessEnv): RelayOptions & { metricsIntervalMs: number } {
  const { values } = parseArgs({
    args: [...argv],
    options: { host: { type: 'string' }, port: { type: 'string' }, 'key-file': { type: 'string' }, 'max-reservations': { type: 'string' }, 'metrics-interval-ms': { type: 'string' } },
    strict: true,
  })
  const integer = (flag: string, value: string | undefined, fallback: number, min: number, max: number) => {
    const n = Number(value ?? fallback)
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be an integer in ${min}..${max}, got ${value}.`)
    return n
  }
  return {
    host: values.host ?? env['MODELEX_RELAY_HOST'] ?? '127.0.0.1',
    port: integer('port', values.port ?? env['MODELEX_RELAY_PORT'], 9090, 0, 65535),
    keyFile: resolve(values['key-file'] ?? env['MODELEX_RELAY_KEY_FILE'] ?? '.modelex/relay.key'),
    maxReservations: integer('max-reservations', values['max-reservations'], RELAY_DEFAULTS.maxReservations, 1, 1_000_000),
    metricsIntervalMs: integer('metrics-interval-ms', values['metrics-interval-ms'], RELAY_DEFAULTS.metricsIntervalMs, 0, 86_400_000),
  }
}

async function main(): Promise<void> {
  let options
  try {
    options = readRelayOptions(process.argv.slice(2), process.env)
  } catch (error) {
    console.error((error as Error).message)
    process.exit(2)
  }
  let relay: Relay
  try {
    relay = await startRelay(options)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    console.error(code === 'EADDRINUSE' ? `Port ${options.port} on ${options.host} is taken: choose another with --port N.` : `The relay did not start: ${(error as Error).message}`)
    process.exit(1)
  }
  console.log(JSON.stringify({ event: 'listening', multiaddr: relay.multiaddr, peerId: relay.peerId }))
  const timer = options.metricsIntervalMs > 0 ? setInterval(() => console.log(JSON.stringify({ event: 'metrics', ...relay.metrics() })), options.metricsIntervalMs) : undefined
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    clearInterval(timer)
    relay.stop().then(
      () => {
        console.log(JSON.stringify({ event: 'stopped', signal, ...relay.metrics() }))
        process.exit(0)
      },
      () => process.exit(1),
    )
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
