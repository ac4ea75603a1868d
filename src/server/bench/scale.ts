/**
 * `npm run bench:scale`: what a consumer pays as the number of providers grows, on loopback, bounded in time and
 * count. Relays are the production relay program (4, federated as a deployment lists them); providers are simulated in
 * worker processes (real Ed25519 peer ids and secp256k1 signers, real signed announcements, at the real refresh and
 * change rates); consumers are real. It prints:
 * - consumer bytes/s at 100, 1,000 and 10,000 providers: a real consumer node (libp2p with gossipsub, the directory
 *   in its default query mode, best 32) reaching its relay through a loopback TCP proxy that counts every byte both
 *   ways, over a steady window after it joined;
 * - join-to-list: from starting that consumer's node to its directory listing the best 10;
 * - propagation: a provider's change to the announcement of the cheapest node, timed from its publication to the
 *   moment each of the consumer peers spread over the 4 relays holds it (95th percentile);
 * - the connections one relay holds (`measureRelayCapacity`, `relay-capacity.ts`);
 * and last `10000 providers: consumer B bytes/s, join-to-list T ms`.
 *
 * Options (environment): BENCH_SCALE_WINDOW_S (20), BENCH_SCALE_PEERS (1000), BENCH_SCALE_MAX_PROVIDERS (10000),
 * BENCH_SCALE_SKIP_CAPACITY (set: skip the relay-capacity run, which takes minutes of its own).
 */
import '../lib/node-shims.ts'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { announcementTopic, encodeAnnouncement, signAnnouncement } from '../../core/announcement.ts'
import { createNodeDirectory } from '../../p2p/directory.ts'
import { publishToRelay } from '../../p2p/directory-service.ts'
import { createModelexNode, type ModelexNode } from '../../p2p/node.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayFederation, type RelayFederation } from '../lib/relay-process.ts'
import type { WorkerCommand, WorkerReport } from './scale-worker.ts'

const MODEL: Hex = `0x${'5c'.repeat(32)}`
const WINDOW_S = Number(process.env['BENCH_SCALE_WINDOW_S'] ?? 20)
const PEERS = Number(process.env['BENCH_SCALE_PEERS'] ?? 1000)
const MAX_PROVIDERS = Number(process.env['BENCH_SCALE_MAX_PROVIDERS'] ?? 10_000)
const LEVELS = [100, 1_000, 10_000].filter((n) => n <= MAX_PROVIDERS)
const RELAYS = 4
const PROVIDER_WORKERS = 2
const CONSUMER_WORKERS = 4
/** The whole bench stops here, whatever is left. */
const DEADLINE = Date.now() + 15 * 60_000

type Worker = {
  child: ChildProcess
  command(c: WorkerCommand): void
  next(type: WorkerReport['type'], timeoutMs: number): Promise<WorkerReport>
}
const workers: Worker[] = []

function startWorker(): Worker {
  const child = fork(join(import.meta.dirname, 'scale-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const queue: WorkerReport[] = []
  const waiting: (() => void)[] = []
  child.on('message', (report: WorkerReport) => {
    if (report.type === 'error') console.error(`worker ${child.pid}: ${report.message}`)
    queue.push(report)
    for (const wake of waiting.splice(0)) wake()
  })
  const worker: Worker = {
    child,
    command: (c) => {
      if (child.connected) child.send(c)
    },
    async next(type, timeoutMs) {
      const until = Math.min(Date.now() + timeoutMs, DEADLINE)
      for (;;) {
        const i = queue.findIndex((r) => r.type === type || r.type === 'error')
        if (i >= 0) {
          const [report] = queue.splice(i, 1)
          if (report?.type === 'error') throw new Error(`worker ${child.pid}: ${report.message}`)
          return report as WorkerReport
        }
        if (Date.now() > until) throw new Error(`worker ${child.pid}: no ${type} within ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          waiting.push(resolve)
          setTimeout(resolve, 1_000)
        })
      }
    },
  }
  workers.push(worker)
  return worker
}

/** A loopback TCP proxy to `port` that counts the bytes it carries both ways. */
async function countingProxy(port: number): Promise<{ port: number; bytes(): number; close(): void }> {
  let total = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    }
    client.on('data', (d: Buffer) => {
      total += d.length
      upstream.write(d)
    })
    upstream.on('data', (d: Buffer) => {
      total += d.length
      client.write(d)
    })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    bytes: () => total,
    close() {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

const portOf = (address: string) => Number(/\/tcp\/(\d+)\//.exec(address)?.[1])
const peerOf = (address: string) => address.slice(address.lastIndexOf('/p2p/') + 5)

/** A real consumer joins relay `address` through a counting proxy: time to list the best 10, then bytes/s over the window. */
async function measureConsumer(
  address: string,
): Promise<{ bytesPerSecond: number; joinToListMs: number; listed: number }> {
  const proxy = await countingProxy(portOf(address))
  const viaProxy = address.replace(`/tcp/${portOf(address)}/`, `/tcp/${proxy.port}/`)
  let node: ModelexNode | undefined
  try {
    const started = performance.now()
    node = await createModelexNode({ relays: [viaProxy], runtime: 'node' })
    // No pings: the simulated providers are not reachable peers (pinging the best 16 costs the same at any scale).
    const directory = createNodeDirectory(node, { models: [MODEL], pingIntervalMs: 3_600_000 })
    await node.start()
    await directory.start()
    await directory.waitFor(() => directory.list().length >= 10, 60_000)
    const joinToListMs = performance.now() - started
    // Steady state: what the joining itself cost is excluded.
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const before = proxy.bytes()
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1_000))
    const bytesPerSecond = (proxy.bytes() - before) / WINDOW_S
    const listed = directory.list().length
    await directory.stop()
    return { bytesPerSecond, joinToListMs, listed }
  } finally {
    await node?.stop().catch(() => {})
    proxy.close()
  }
}

const dir = await mkdtemp(join(tmpdir(), 'modelex-bench-scale-'))
let federation: RelayFederation | undefined
const lines: string[] = []
const say = (line: string) => {
  lines.push(line)
  console.log(line)
}
try {
  console.log(
    `bench:scale: ${RELAYS} relays, ${PROVIDER_WORKERS} provider workers, levels ${LEVELS.join(', ')}, window ${WINDOW_S} s, ${PEERS} peers for propagation (loopback; the machine is shared, so times include waiting for a core)`,
  )
  // Relays: the production relay program, federated as a deployment lists them (each a gossipsub direct peer of the others).
  federation = await startRelayFederation({
    ports: await Promise.all(Array.from({ length: RELAYS }, () => freePort())),
    keyFiles: Array.from({ length: RELAYS }, (_, i) => join(dir, `relay-${i}.key`)),
  })
  const relays = federation.relays
  const [first] = relays
  if (!first) throw new Error('no relay')

  // Providers on the first relay, spread over worker processes.
  const providerWorkers = Array.from({ length: PROVIDER_WORKERS }, (_, i) => {
    const worker = startWorker()
    worker.command({ type: 'providers', relay: first.multiaddr, model: MODEL, seed: 17 + i })
    return worker
  })
  await Promise.all(providerWorkers.map((w) => w.next('added', 60_000)))
  let providers = 0
  let at10k = { bytesPerSecond: Number.NaN, joinToListMs: Number.NaN }
  for (const level of LEVELS) {
    for (const w of providerWorkers) w.command({ type: 'churn', on: false })
    const share = Math.ceil((level - providers) / PROVIDER_WORKERS)
    const started = performance.now()
    for (const w of providerWorkers) w.command({ type: 'add', count: share })
    await Promise.all(providerWorkers.map((w) => w.next('added', 10 * 60_000)))
    providers += share * PROVIDER_WORKERS
    // Until the relay has validated and holds them all: what is measured next is the steady state, not the fill.
    for (let held = 0; held < providers && Date.now() < DEADLINE;) {
      held = ((await first.metrics())['directory'] as { held?: number } | undefined)?.held ?? 0
      if (held < providers) await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const fillS = (performance.now() - started) / 1000
    for (const w of providerWorkers) w.command({ type: 'churn', on: true })
    const m = await measureConsumer(first.multiaddr)
    say(
      `${providers} providers: consumer ${Math.round(m.bytesPerSecond)} bytes/s (directory query, best 32; ${m.listed} listed), join-to-list ${Math.round(m.joinToListMs)} ms; announcements ${Math.round((providers * 2) / 300)}/s into the relay; filled in ${fillS.toFixed(1)} s; the gossip design would cost ${Math.round((providers * 691) / 30)} bytes/s`,
    )
    if (level === 10_000) at10k = m
  }
  for (const w of providerWorkers) w.command({ type: 'churn', on: false })

  // Propagation: consumer peers spread over the relays, each following the best 10; one provider's change is timed
  // from its publication to each peer holding it.
  const consumerWorkers = Array.from({ length: CONSUMER_WORKERS }, () => startWorker())
  const perWorker = Math.ceil(PEERS / CONSUMER_WORKERS)
  consumerWorkers.forEach((w) =>
    w.command({ type: 'consumers', relays: relays.map((r) => r.multiaddr), count: perWorker, model: MODEL, limit: 10 }),
  )
  const ready = (await Promise.all(consumerWorkers.map((w) => w.next('ready', 5 * 60_000)))) as Extract<
    WorkerReport,
    { type: 'ready' }
  >[]
  const connected = ready.reduce((n, r) => n + r.connected, 0)
  // The mover: a real node on the first relay, publishing on the directory protocol and on the gossip topic (which
  // carries it to the other relays).
  const mover = await createModelexNode({ relays: [first.multiaddr], runtime: 'node' })
  await mover.start()
  const key = generatePrivateKey()
  const signer = privateKeyToAddress(key)
  let sequence = 0
  const moverAnnounces = async () => {
    sequence++
    const bytes = encodeAnnouncement(
      await signAnnouncement(
        {
          version: 1,
          peerId: mover.peerId.toString(),
          signer,
          operator: signer,
          chainId: 31337,
          models: [
            { id: 'bench-model', contentHash: MODEL, engine: 'memory', contextLength: 8192, tokensPerSecond: 50 },
          ],
          pricePerMillionInput: '1',
          pricePerMillionOutput: String(100 - sequence),
          capacity: 2,
          queueDepth: 0,
          sequence,
          timestamp: Date.now(),
        },
        key,
      ),
    )
    const connection = mover.libp2p
      .getConnections()
      .find((c) => c.remotePeer.toString() === peerOf(first.multiaddr) && c.status === 'open')
    const t0 = Date.now()
    if (connection) await publishToRelay(connection.newStream.bind(connection), [bytes])
    await mover.libp2p.services.pubsub.publish(announcementTopic(MODEL), bytes)
    return t0
  }
  for (let i = 0; i < 50 && mover.libp2p.services.pubsub.getSubscribers(announcementTopic(MODEL)).length === 0; i++)
    await new Promise((r) => setTimeout(r, 100))
  // A first announcement puts the mover in every view (and warms the paths); the second one is timed.
  await moverAnnounces()
  consumerWorkers.forEach((w) =>
    w.command({ type: 'expect', peerId: mover.peerId.toString(), sequence: 1, timeoutMs: 20_000 }),
  )
  await Promise.all(consumerWorkers.map((w) => w.next('seen', 30_000)))
  const t0 = await moverAnnounces()
  consumerWorkers.forEach((w) =>
    w.command({ type: 'expect', peerId: mover.peerId.toString(), sequence, timeoutMs: 20_000 }),
  )
  const seen = (await Promise.all(consumerWorkers.map((w) => w.next('seen', 30_000)))) as Extract<
    WorkerReport,
    { type: 'seen' }
  >[]
  const delays = seen.flatMap((s) => s.at.map((t) => t - t0)).sort((a, b) => a - b)
  const missing = seen.reduce((n, s) => n + s.missing, 0)
  const p95 = delays.length >= Math.ceil(connected * 0.95) ? delays[Math.ceil(connected * 0.95) - 1] : undefined
  say(
    `propagation: ${connected} consumer peers over ${RELAYS} relays (${ready.map((r) => `${r.memoryMb} MB`).join(', ')} per worker): 95% in ${p95 === undefined ? `— (only ${delays.length} reached)` : `${p95} ms`}, median ${delays[Math.floor(delays.length / 2)] ?? '—'} ms, all ${missing === 0 ? `${delays.at(-1)} ms` : `— (${missing} missed in 20 s)`}`,
  )
  await mover.stop()
  for (const w of consumerWorkers) w.command({ type: 'stop' })

  // Relay capacity: written by the relay work of the same issue; measured there.
  const capacityModule = './relay-capacity.ts'
  const capacity = process.env['BENCH_SCALE_SKIP_CAPACITY']
    ? { measureRelayCapacity: undefined }
    : ((await import(capacityModule).catch(() => null)) as { measureRelayCapacity?: () => Promise<unknown> } | null)
  if (capacity?.measureRelayCapacity) say(`relay capacity: ${JSON.stringify(await capacity.measureRelayCapacity())}`)
  else if (capacity) say('relay capacity: skipped (BENCH_SCALE_SKIP_CAPACITY)')
  else
    say(
      'relay capacity: NOT MEASURED HERE — src/server/bench/relay-capacity.ts (measureRelayCapacity) is not in the tree yet',
    )

  console.log(
    `10000 providers: consumer ${Math.round(at10k.bytesPerSecond)} bytes/s, join-to-list ${Math.round(at10k.joinToListMs)} ms`,
  )
} finally {
  for (const w of workers) {
    w.command({ type: 'stop' })
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
  await federation?.stop()
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)
