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
 * Federation: a deployment may run several relays (`--peer-relay` once per other relay). They are each other's
 * gossipsub direct peers (dialled at start and every few seconds while down, sent every message of the topics they
 * share, never pruned, scored above every threshold), so an announcement published on one relay reaches the peers of
 * every relay; a relay joins a model's topic when one of its peers or a peer relay wants it.
 *
 * Bounds: announcement topics only for models registered on-chain (`--rpc-url` + `--registry`; without them every
 * well-formed topic, within the same bounds), at most `maxTopics` joined and `maxTopicsPerPeer` on one peer's behalf;
 * a peer subscribing to more than `maxSubscriptionsPerPeer` topics is flooding and is cut off for a while; each peer
 * forwards announcements at a bounded rate (the rest are ignored, so one peer cannot fill the cache, which is bounded
 * per topic and in topics); beyond `maxConnections` new connections are refused before their handshake, and beyond
 * `--max-reservations` circuit reservations are refused with the protocol's RESERVATION_REFUSED. Every refusal is
 * counted in the metrics line under `refused`.
 *
 * Options: --host (127.0.0.1), --port (9090; 0 picks a free one), --key-file (.modelex/relay.key), --max-reservations,
 * --max-connections, --peer-relay (repeatable), --rpc-url and --registry (NodeRegistry address), --metrics-interval-ms
 * (60000; 0 for none).
 */
import '../lib/node-shims.ts'
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping, type Ping } from '@libp2p/ping'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createPublicClient, http, isAddress, type Address } from 'viem'
import { announcementTopic, topicContentHash } from '../../core/announcement.ts'
import { RateLimiter } from '../../core/rate-limit.ts'
import { RelayTopics, type TopicRefusalReason } from '../../core/relay-topics.ts'
import { registeredModels, type RegisteredModels } from '../../p2p/registered-models.ts'
import { attestationGate } from '../../p2p/attestations.ts'
import {
  ATTESTATION_TOPIC_SCORE,
  ATTESTATIONS_TOPIC,
  JOBS_TOPIC,
  JOBS_TOPIC_SCORE,
  RELAY_DEFAULTS,
} from '../../p2p/constants.ts'
import { jobsGate } from '../../p2p/jobs.ts'
import { LatestAnnouncements } from '../../core/latest-announcements.ts'
import { LatestAttestations, type LatestAttestationsOptions } from '../../core/latest-attestations.ts'
import {
  announcementGate,
  modelexGossipsub,
  unwatchTopic,
  watchTopic,
  type AnnouncementGate,
  type Validate,
} from '../../p2p/gossip.ts'
import { serveDirectory, type DirectoryService, type DirectoryServiceCounts } from '../../p2p/directory-service.ts'
import { serveLatestAnnouncements } from '../../p2p/latest-announcements.ts'
import {
  serveLatestAttestations,
  type LatestAttestationsServerCounts,
  type LatestAttestationsSource,
} from '../../p2p/latest-attestations.ts'
import { RELAY_LIMITS, type RelayLimits } from '../../p2p/relay-limits.ts'
import { modelexNoise, modelexWebSockets, modelexYamux } from '../../p2p/transport-tuning.ts'
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
  /** The deployment's other relays (multiaddrs with /p2p/<id>): this relay's federation. */
  peerRelays?: readonly string[]
  /** Where to read which models are registered (only their topics are joined). Default: none, every topic. */
  registry?: { rpcUrl: string; address: Address } | RegisteredModels
  limits?: Partial<RelayLimits>
}

export type RelayRefusals = {
  /** Inbound connections refused at the connection limit, and from peers cut off for flooding. */
  connections: number
  /** Wanted topics not joined now, by reason. */
  topics: Record<TopicRefusalReason, number>
  /** Peers cut off for subscribing to too many topics. */
  floodingPeers: number
  /** Announcements ignored because their sender went over its rate. */
  announcements: number
}

export type RelayMetrics = {
  peers: number
  connections: number
  reservations: number
  topics: number
  /** Distinct announcement topics peers want, joined or not. */
  wantedTopics: number
  messages: { accepted: number; rejected: number; ignored: number }
  attestations: { accepted: number; rejected: number; ignored: number }
  jobs: { accepted: number; rejected: number; ignored: number }
  /** The attestation cache: streams held, and its protocol's requests, attestations served and malformed requests. */
  latestAttestations: LatestAttestationsServerCounts & { held: number }
  refused: RelayRefusals
  /** Peer relays configured, and connected now. */
  federation: { relays: number; connected: number }
  /** Registered models known (null without a registry), and failed reads. */
  registry: { models: number; failures: number } | null
  /** Resident memory of the process, in bytes. */
  rssBytes: number
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
  peerRelays = [],
  registry,
  limits: limitOverrides = {},
}: RelayOptions): Promise<Relay> {
  const limits: RelayLimits = { ...RELAY_LIMITS, ...limitOverrides }
  const privateKey = await loadOrCreatePeerKeyFile(keyFile)
  const federation = federationPeers(peerRelays)
  const isPeerRelay = (peer: string) => federation.ids.has(peer)
  const refused: RelayRefusals = {
    connections: 0,
    topics: { 'unregistered-model': 0, 'relay-topic-limit': 0, 'peer-topic-limit': 0 },
    floodingPeers: 0,
    announcements: 0,
  }
  const banned = new Map<string, number>()
  // eslint-disable-next-line prefer-const -- the gate needs the node it guards, which is built with the gate
  let libp2p: Libp2p<RelayServices>
  const gater = capacityGate({
    connections: () => libp2p.getConnections().length,
    limits,
    isPeerRelay,
    banned,
    refused,
  })
  libp2p = await createLibp2p<RelayServices>({
    privateKey,
    addresses: { listen: [`/ip4/${host}/tcp/${port}/ws`] },
    transports: [modelexWebSockets()],
    connectionEncrypters: [modelexNoise()],
    streamMuxers: [modelexYamux()],
    // Peers on the local stack and in tests are on private addresses; the relay must be able to talk back.
    connectionGater: { denyDialMultiaddr: () => false, ...gater },
    // The limit itself is the gate's (libp2p skips it for allow-listed networks, loopback here); libp2p's own limit
    // only prunes, above the gate's plus room for the peer relays.
    connectionManager: { maxConnections: limits.maxConnections + federation.ids.size + 64, allow: [...unthrottled] },
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
      pubsub: modelexGossipsub({
        colocationWhitelist,
        mesh: RELAY_DEFAULTS.mesh,
        federation: {
          directPeers: federation.directPeers,
          directConnectTicks: limits.directConnectTicks,
          decodeRpcLimits: {
            maxSubscriptions: limits.maxSubscriptionsPerRpc,
            maxMessages: limits.maxMessagesPerRpc,
            maxIhaveMessageIDs: 5000,
            maxIwantMessageIDs: 5000,
            maxControlMessages: 5000,
            maxIdontwantMessageIDs: 512,
            maxPeerInfos: 16,
          },
        },
        // Peer relays stay above every threshold: a relay forwards what its peers send, so one bad peer behind it
        // must not cost the federation its link (the relay that forwarded it validated it the same way anyway).
        appSpecificScore: (peer) => (isPeerRelay(peer) ? 1_000 : 0),
      }),
    },
  })
  const pubsub = libp2p.services.pubsub
  const models =
    registry === undefined
      ? null
      : 'verdict' in registry
        ? registry
        : registeredModels(createPublicClient({ transport: http(registry.rpcUrl) }), registry.address)
  const gate = announcementGate()
  const topics = serveAnnouncementTopics(libp2p, { gate, models, limits, isPeerRelay, banned, refused })
  // The directory query protocol: the best N of a model, signed, with deltas (src/p2p/directory-service.ts). A
  // model asked about or published to it is wanted like a subscription, under the same registry gate and bounds.
  // Its own validator for what providers publish to it directly: sharing the gossip one would make the gossip copy
  // of the same announcement a replay, ignored and so never forwarded to the other relays.
  const directory = serveDirectory(libp2p, {
    validate: announcementGate().check,
    join: (hash) => topics.wantForDirectory(hash),
  })
  const latestService = cacheLatestAnnouncements(libp2p, { gate, joined: (topic) => topics.has(topic), directory })
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
  topics.start()
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
      topics: topics.joined,
      wantedTopics: topics.wanted,
      messages: { ...gate.counts },
      attestations: { ...attestations.counts },
      jobs: { ...jobs.counts },
      latestAttestations: { ...attestationService.counts, held: attestationCache.size },
      refused: { ...refused, topics: topics.refusedNow() },
      federation: {
        relays: federation.ids.size,
        connected: [...federation.ids].filter((id) => libp2p.getConnections(peerIdFromString(id)).length > 0).length,
      },
      registry: models ? { models: models.size, failures: models.failures } : null,
      rssBytes: process.memoryUsage.rss(),
      directory: { ...directory.counts, held: directory.store.size },
    }),
    stop: async () => {
      topics.stop()
      await libp2p.stop()
    },
  }
}

/** The peer relays as gossipsub direct peers: their ids, and where to dial them. */
export function federationPeers(peerRelays: readonly string[]): {
  ids: Set<string>
  directPeers: { id: PeerId; addrs: Multiaddr[] }[]
} {
  const directPeers = peerRelays.map((address) => {
    const parsed = multiaddr(address)
    const id = parsed.getComponents().findLast((c) => c.name === 'p2p')?.value
    if (!id) throw new Error(`A peer relay's multiaddr must end in /p2p/<peer id>: ${address}`)
    return { id: peerIdFromString(id), addrs: [parsed.decapsulate(`/p2p/${id}`)] }
  })
  return { ids: new Set(directPeers.map((p) => p.id.toString())), directPeers }
}

/**
 * The connection limit, applied before anything is spent on a newcomer: at `maxConnections`, inbound connections are
 * refused before their handshake (a few above it are let through the handshake, so a peer relay can still get in),
 * and after it, for everyone but peer relays; peers cut off for flooding are refused until their ban ends.
 */
function capacityGate({
  connections,
  limits,
  isPeerRelay,
  banned,
  refused,
}: {
  connections: () => number
  limits: RelayLimits
  isPeerRelay: (peer: string) => boolean
  banned: Map<string, number>
  refused: RelayRefusals
}) {
  return {
    denyInboundConnection: () => {
      if (connections() < limits.maxConnections + 16) return false
      refused.connections++
      return true
    },
    denyInboundEncryptedConnection: (peer: PeerId) => {
      const id = peer.toString()
      if (isPeerRelay(id)) return false
      const until = banned.get(id)
      if (until !== undefined && until > Date.now()) {
        refused.connections++
        return true
      }
      banned.delete(id)
      if (connections() < limits.maxConnections) return false
      refused.connections++
      return true
    },
  }
}

/** The pseudo-peer standing for the directory protocol's askers in `RelayTopics`. */
const DIRECTORY_PEER = 'directory-protocol'

/**
 * Announcement topics: mirrors peers' subscriptions into `RelayTopics`, joins and leaves topics as it plans (at once
 * on a subscription change, and every `sweepMs` for registry verdicts that arrive later), cuts off flooding peers, and
 * validates what it joins with the announcement gate behind a rate per forwarding peer (peer relays exempt).
 */
function serveAnnouncementTopics(
  libp2p: Libp2p<RelayServices>,
  {
    gate,
    models,
    limits,
    isPeerRelay,
    banned,
    refused,
  }: {
    gate: AnnouncementGate
    models: RegisteredModels | null
    limits: RelayLimits
    isPeerRelay: (peer: string) => boolean
    banned: Map<string, number>
    refused: RelayRefusals
  },
) {
  const pubsub = libp2p.services.pubsub
  // Models asked about over the directory protocol count as wanted by one pseudo-peer, exempt from the per-peer
  // bound (the directory service bounds its askers itself), for `directoryInterestMs` after the last ask.
  const directoryInterest = new Map<string, number>()
  const topics = new RelayTopics({
    maxTopics: limits.maxTopics,
    maxTopicsPerPeer: limits.maxTopicsPerPeer,
    maxSubscriptionsPerPeer: limits.maxSubscriptionsPerPeer,
    exempt: (peer) => peer === DIRECTORY_PEER || isPeerRelay(peer),
  })
  const rate = new RateLimiter({
    perSecond: limits.announcementsPerSecond,
    burst: limits.announcementBurst,
    maxKeys: limits.maxConnections * 2,
  })
  const validate: Validate = async (from, message) => {
    const source = from.toString()
    if (!isPeerRelay(source) && !rate.take(source, Date.now()).ok) {
      refused.announcements++
      return TopicValidatorResult.Ignore
    }
    return gate.validate(from, message)
  }
  let refusedNow = new Map<string, TopicRefusalReason>()
  let scheduled = false
  let timer: ReturnType<typeof setInterval> | undefined
  const sweep = () => {
    scheduled = false
    const now = Date.now()
    for (const [topic, until] of directoryInterest) {
      if (until > now) continue
      directoryInterest.delete(topic)
      topics.unsubscribe(DIRECTORY_PEER, topic)
    }
    let unknown = false
    const plan = topics.plan((hash) => {
      if (!models) return true
      const verdict = models.verdict(hash)
      if (verdict === undefined) unknown = true
      return verdict
    })
    for (const topic of plan.leave) unwatchTopic(pubsub, topic)
    for (const topic of plan.join) watchTopic(pubsub, topic, validate)
    topics.applied(plan)
    refusedNow = plan.refused
    // The registry has not answered yet: look again as soon as it has.
    if (unknown && models) void models.refresh().then(soon)
  }
  const soon = () => {
    if (scheduled || timer === undefined) return
    scheduled = true
    queueMicrotask(sweep)
  }
  const onSubscriptions = (
    event: CustomEvent<{ peerId: PeerId; subscriptions: { topic: string; subscribe: boolean }[] }>,
  ) => {
    const peer = event.detail.peerId.toString()
    for (const { topic, subscribe } of event.detail.subscriptions) {
      if (!subscribe) {
        topics.unsubscribe(peer, topic)
        continue
      }
      if (topics.subscribe(peer, topic) === 'flooding') {
        topics.dropPeer(peer)
        refused.floodingPeers++
        banned.set(peer, Date.now() + limits.floodBanMs)
        if (banned.size > limits.maxConnections) banned.delete(banned.keys().next().value as string)
        void libp2p.hangUp(event.detail.peerId).catch(() => {})
        break
      }
    }
    soon()
  }
  const onDisconnect = (event: CustomEvent<PeerId>) => {
    topics.dropPeer(event.detail.toString())
    soon()
  }
  return {
    has: (topic: string) => topics.has(topic),
    wantForDirectory(contentHash: string) {
      const topic = announcementTopic(contentHash)
      if (
        topicContentHash(topic) === null ||
        (!directoryInterest.has(topic) && directoryInterest.size >= limits.maxTopics)
      )
        return
      directoryInterest.set(topic, Date.now() + limits.directoryInterestMs)
      if (topics.subscribe(DIRECTORY_PEER, topic) === 'ok') soon()
    },
    get joined() {
      return topics.joined
    },
    get wanted() {
      return topics.wanted
    },
    refusedNow(): Record<TopicRefusalReason, number> {
      const counts: Record<TopicRefusalReason, number> = {
        'unregistered-model': 0,
        'relay-topic-limit': 0,
        'peer-topic-limit': 0,
      }
      for (const reason of refusedNow.values()) counts[reason]++
      return counts
    },
    start() {
      pubsub.addEventListener('subscription-change', onSubscriptions)
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      timer = setInterval(sweep, limits.sweepMs)
      if (models) void models.refresh().then(soon)
    },
    stop() {
      clearInterval(timer)
      timer = undefined
      pubsub.removeEventListener('subscription-change', onSubscriptions)
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
    },
  }
}

/** The newest validated announcement of each node per joined topic, for peers that join a topic later. */
function cacheLatestAnnouncements(
  libp2p: Libp2p<RelayServices>,
  {
    gate,
    joined,
    directory,
  }: { gate: AnnouncementGate; joined: (topic: string) => boolean; directory: DirectoryService },
) {
  const latest = new LatestAnnouncements({ maxTopics: RELAY_LIMITS.maxTopics })
  libp2p.services.pubsub.addEventListener('message', (event) => {
    const announcement = joined(event.detail.topic) ? gate.take(event.detail) : undefined
    if (announcement) latest.record(event.detail.topic, announcement.peerId, announcement.timestamp, event.detail.data)
    if (announcement) directory.record(announcement, event.detail.data)
  })
  // A node that disconnects from the relay is gone from here: newcomers must not be sent to it.
  libp2p.addEventListener('peer:disconnect', (event) => {
    latest.forget(event.detail.toString())
    directory.store.forget(event.detail.toString())
  })
  return serveLatestAnnouncements(libp2p, latest)
}

export function readRelayOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): RelayOptions & { metricsIntervalMs: number } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'key-file': { type: 'string' },
      'max-reservations': { type: 'string' },
      'max-connections': { type: 'string' },
      'metrics-interval-ms': { type: 'string' },
      'peer-relay': { type: 'string', multiple: true },
      'rpc-url': { type: 'string' },
      registry: { type: 'string' },
    },
    strict: true,
  })
  const integer = (flag: string, value: string | undefined, fallback: number, min: number, max: number) => {
    const n = Number(value ?? fallback)
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${flag} must be an integer in ${min}..${max}, got ${value}.`)
    return n
  }
  const peerRelays =
    values['peer-relay'] ?? (env['MODELEX_PEER_RELAYS'] ? env['MODELEX_PEER_RELAYS'].split(',').filter(Boolean) : [])
  try {
    federationPeers(peerRelays)
  } catch (error) {
    throw new Error(`--peer-relay: ${(error as Error).message}`, { cause: error })
  }
  const rpcUrl = values['rpc-url'] ?? env['MODELEX_RPC_URL']
  const address = values.registry ?? env['MODELEX_REGISTRY']
  if ((rpcUrl === undefined) !== (address === undefined))
    throw new Error('--rpc-url and --registry go together: the relay reads registered models from that NodeRegistry.')
  if (address !== undefined && !isAddress(address))
    throw new Error(`--registry must be a contract address, got ${address}.`)
  if (rpcUrl !== undefined && !/^(https?|wss?):\/\//.test(rpcUrl))
    throw new Error(`--rpc-url must be an http(s) or ws(s) URL, got ${rpcUrl}.`)
  return {
    host: values.host ?? env['MODELEX_RELAY_HOST'] ?? '127.0.0.1',
    port: integer('port', values.port ?? env['MODELEX_RELAY_PORT'], 9090, 0, 65535),
    keyFile: resolve(values['key-file'] ?? env['MODELEX_RELAY_KEY_FILE'] ?? '.modelex/relay.key'),
    maxReservations: integer(
      'max-reservations',
      values['max-reservations'],
      RELAY_DEFAULTS.maxReservations,
      1,
      1_000_000,
    ),
    metricsIntervalMs: integer(
      'metrics-interval-ms',
      values['metrics-interval-ms'],
      RELAY_DEFAULTS.metricsIntervalMs,
      0,
      86_400_000,
    ),
    limits: {
      maxConnections: integer('max-connections', values['max-connections'], RELAY_LIMITS.maxConnections, 1, 1_000_000),
    },
    peerRelays,
    ...(rpcUrl !== undefined && address !== undefined ? { registry: { rpcUrl, address: address as Address } } : {}),
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
    console.error(
      code === 'EADDRINUSE'
        ? `Port ${options.port} on ${options.host} is taken: choose another with --port N.`
        : `The relay did not start: ${(error as Error).message}`,
    )
    process.exit(1)
  }
  const timer =
    options.metricsIntervalMs > 0
      ? setInterval(
          () => console.log(JSON.stringify({ event: 'metrics', ...relay.metrics() })),
          options.metricsIntervalMs,
        )
      : undefined
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
  // The ready line comes after the signal handlers: whoever reads it may stop us at once.
  console.log(
    JSON.stringify({
      event: 'listening',
      multiaddr: relay.multiaddr,
      peerId: relay.peerId,
      peerRelays: options.peerRelays?.length ?? 0,
      topicsFrom: options.registry ? 'registry' : 'any',
    }),
  )
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
