/**
 * `npx tsx src/server/bench/relay-capacity.ts [--steps 250,500,1000,1200] [--workers 4] [--limit 1200] [--deadline-s 480]`:
 * how many peer connections one relay (a child process) holds on this machine with gossip on, and what each costs.
 * Lightweight real libp2p peers (WebSockets, noise, yamux, identify, gossipsub) are spread over worker processes,
 * each subscribed to one of 8 model topics (so ~N/8 per topic, within the relay's mesh); at each step the bench
 * reads the relay's resident memory and connections from its metrics line, publishes a signed announcement on each topic
 * and measures the share of subscribers it reaches within 5 s and its 95th percentile latency, and pings the relay.
 * A step degrades when delivery falls under 95%, the ping exceeds 500 ms, or dials fail below the relay's limit; a
 * gossip p95 over 1 s is reported as the point where it slows. A last step dials 10% beyond the relay's `--max-connections` and counts the polite refusals.
 * Loopback only; bounded in peers, steps and time (it says where it stood when the deadline cuts it short); every
 * process it starts is stopped by PID.
 *
 * `measureRelayCapacity(options)` returns the figures (`bench:scale` uses it for "the connections one relay holds").
 */
import '../lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { announcementTopic } from '../../core/announcement.ts'
import { createModelexNode, type ModelexNode } from '../../p2p/node.ts'
import { freePort } from '../lib/ports.ts'
import { startProcess, type ManagedProcess } from '../lib/process.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'
import type { WorkerCommand, WorkerReply } from './relay-capacity-worker.ts'

export type RelayCapacityOptions = {
  /** Total peers to hold at each step, increasing. */
  steps?: readonly number[]
  /** Worker processes the peers are spread over. */
  workers?: number
  /** The relay's `--max-connections`; the last step dials 10% beyond it. */
  limit?: number
  /** Model topics the peers are spread over. */
  topics?: number
  /** The whole run, at most. */
  deadlineMs?: number
  /** Dials at once per worker. */
  concurrency?: number
  log?: (line: string) => void
}

export type RelayCapacityStep = {
  peers: number
  connections: number
  rssBytes: number
  /** (relay RSS now − RSS with no peers) / connections (noisy: V8 grows and gives back its heap in steps). */
  bytesPerConnection: number
  /** Share of subscribers that got a message published on their topic within 5 s. */
  delivery: number
  p95Ms: number
  pingMs: number
  failedDials: number
  seconds: number
}

export type RelayCapacityResult = {
  /** Most connections held in a step that did not degrade (every dial held, ≥ 95% delivery, ping ≤ 500 ms). */
  held: number
  /** Relay memory per connection: the least-squares slope of RSS over connections, baseline and held steps. */
  bytesPerConnection: number
  /** The first step that degraded, and why; null when none did. */
  degradedAt: { peers: number; reason: string } | null
  /** The first held step whose gossip p95 went over 1 s (slower, still delivering), or null. */
  slowAt: { peers: number; p95Ms: number } | null
  /** The over-limit step: dials beyond the relay's limit, refused, and the relay's own refusal count. */
  beyondLimit: { attempted: number; failedDials: number; relayRefused: number } | null
  baselineRssBytes: number
  steps: RelayCapacityStep[]
  /** Set when the deadline ended the run early. */
  stoppedEarly: string | null
}

const DEFAULTS = {
  steps: [250, 500, 1000, 1200],
  workers: 4,
  limit: 1200,
  topics: 8,
  deadlineMs: 480_000,
  concurrency: 8,
} as const

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length
  const mx = points.reduce((a, p) => a + p.x, 0) / n
  const my = points.reduce((a, p) => a + p.y, 0) / n
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0)
  return sxx === 0 ? 0 : points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx
}

type Worker = { process: ManagedProcess; ask(command: WorkerCommand, timeoutMs: number): Promise<WorkerReply> }

async function startWorker(index: number): Promise<Worker> {
  const file = join(import.meta.dirname, 'relay-capacity-worker.ts')
  const process_ = startProcess(`relay-capacity worker ${index}`, process.execPath, ['--import', 'tsx', file], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    cwd: join(import.meta.dirname, '../../..'),
  })
  const child = process_.child
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${index} did not start within 30 s:\n${process_.output()}`)),
      30_000,
    )
    child.once('message', () => {
      clearTimeout(timer)
      resolve()
    })
    child.once('exit', () => reject(new Error(`worker ${index} exited at start:\n${process_.output()}`)))
  })
  // One command at a time per worker: replies come back in order.
  let queue: Promise<unknown> = Promise.resolve()
  const ask = (command: WorkerCommand, timeoutMs: number) => {
    const answer = queue.then(
      () =>
        new Promise<WorkerReply>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`worker ${index} did not answer ${command.type} within ${timeoutMs} ms`)),
            timeoutMs,
          )
          child.once('message', (reply: WorkerReply) => {
            clearTimeout(timer)
            resolve(reply)
          })
          child.send(command)
        }),
    )
    queue = answer.catch(() => {})
    return answer
  }
  return { process: process_, ask }
}

export async function measureRelayCapacity(options: RelayCapacityOptions = {}): Promise<RelayCapacityResult> {
  const {
    steps,
    workers: workerCount,
    limit,
    topics: topicCount,
    deadlineMs,
    concurrency,
  } = { ...DEFAULTS, ...options }
  const log = options.log ?? (() => {})
  const started = performance.now()
  const left = () => deadlineMs - (performance.now() - started)
  const dir = await mkdtemp(join(tmpdir(), 'modelex-relay-capacity-'))
  const topics = Array.from({ length: topicCount }, (_, i) =>
    announcementTopic(`0x${(i + 1).toString(16).padStart(64, 'c')}`),
  )
  let relay: RelayProcess | undefined
  let probe: ModelexNode | undefined
  const workers: Worker[] = []
  const result: RelayCapacityResult = {
    held: 0,
    bytesPerConnection: 0,
    degradedAt: null,
    slowAt: null,
    beyondLimit: null,
    baselineRssBytes: 0,
    steps: [],
    stoppedEarly: null,
  }
  type Metrics = { connections: number; rssBytes: number; refused?: { connections: number } }
  const metrics = async () => (await relay!.metrics()) as unknown as Metrics
  const freshMetrics = async () => {
    // The relay prints its metrics every 250 ms; wait for a line printed after now.
    const before = relay!.process.output().length
    for (let i = 0; i < 40 && relay!.process.output().length === before; i++)
      await new Promise((resolve) => setTimeout(resolve, 100))
    return metrics()
  }
  try {
    relay = await startRelayProcess({
      port: await freePort(),
      keyFile: join(dir, 'relay.key'),
      maxConnections: limit,
      metricsIntervalMs: 250,
    })
    for (let i = 0; i < workerCount; i++) workers.push(await startWorker(i))
    probe = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node', listen: [] })
    await probe.start()
    const ping = async () => {
      const times: number[] = []
      for (let i = 0; i < 5; i++)
        times.push(
          await probe!.libp2p.services.ping
            .ping(probe!.relays[0]!, { signal: AbortSignal.timeout(5_000) })
            .catch(() => Number.POSITIVE_INFINITY),
        )
      return percentile(times, 50)
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    result.baselineRssBytes = (await freshMetrics()).rssBytes
    log(
      `relay up (${relay.multiaddr}), baseline RSS ${(result.baselineRssBytes / 2 ** 20).toFixed(1)} MiB, ${workerCount} workers, limit ${limit}`,
    )

    let total = 0
    let failedTotal = 0
    const addPeers = async (count: number) => {
      const share = (i: number) => Math.floor(count / workerCount) + (i < count % workerCount ? 1 : 0)
      const replies = await Promise.all(
        workers.map((w, i) =>
          w.ask(
            { type: 'add', count: share(i), relay: relay!.multiaddr, topics, concurrency, dialTimeoutMs: 20_000 },
            Math.max(10_000, left()),
          ),
        ),
      )
      let failed = 0
      for (const reply of replies) {
        if (reply.type !== 'added') continue
        failed += reply.failed
        if (reply.failed > 0)
          log(
            `  worker: ${reply.failed} failed (${reply.dropped} closed after the dial)${reply.errors.length ? `: ${reply.errors.join('; ')}` : ''}`,
          )
      }
      return failed
    }
    let sequences = Date.now()
    const gossip = async () => {
      const ratios: number[] = []
      const latencies: number[] = []
      for (const topic of topics) {
        const sequence = ++sequences
        const owner = workers[Math.floor(Math.random() * workers.length)]!
        const published = await owner.ask({ type: 'publish', sequence, topic }, 10_000)
        if (published.type !== 'published' || !published.ok) continue
        const deadline = performance.now() + 5_000
        let ratio: number
        // Bounded: until everyone on the topic has it, or 5 s.
        for (;;) {
          const replies = await Promise.all(workers.map((w) => w.ask({ type: 'received', sequence, topic }, 10_000)))
          let got = 0
          let expected = -1 // the publisher does not receive its own message
          const seen: number[] = []
          for (const reply of replies) {
            if (reply.type !== 'received') continue
            got += reply.latenciesMs.length
            expected += reply.subscribed
            seen.push(...reply.latenciesMs)
          }
          ratio = expected > 0 ? got / expected : 1
          if (got >= expected || performance.now() > deadline) {
            latencies.push(...seen)
            break
          }
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
        ratios.push(ratio)
      }
      return { delivery: ratios.length ? Math.min(...ratios) : 0, p95Ms: percentile(latencies, 95) }
    }

    for (const target of steps) {
      if (left() < 30_000) {
        result.stoppedEarly = `deadline: stopped before the ${target}-peer step, at ${total} peers`
        break
      }
      const stepStarted = performance.now()
      const failed = await addPeers(target - total)
      failedTotal += failed
      total = target
      // Let gossipsub graft the newcomers (heartbeats every second).
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      const m = await freshMetrics()
      const { delivery, p95Ms } = await gossip()
      const pingMs = await ping()
      const step: RelayCapacityStep = {
        peers: target,
        connections: m.connections,
        rssBytes: m.rssBytes,
        bytesPerConnection: m.connections > 0 ? Math.round((m.rssBytes - result.baselineRssBytes) / m.connections) : 0,
        delivery,
        p95Ms,
        pingMs,
        failedDials: failed,
        seconds: Math.round((performance.now() - stepStarted) / 100) / 10,
      }
      result.steps.push(step)
      log(
        `${String(target).padStart(5)} peers: ${m.connections} connections, RSS ${(m.rssBytes / 2 ** 20).toFixed(0)} MiB (${(step.bytesPerConnection / 1024).toFixed(1)} KiB/connection), delivery ${(delivery * 100).toFixed(1)}% p95 ${p95Ms.toFixed(0)} ms, ping ${pingMs.toFixed(1)} ms, ${failed} failed dials, ${step.seconds} s`,
      )
      // target + 1: the probe holds a connection too.
      const reason =
        delivery < 0.95
          ? `delivery ${(delivery * 100).toFixed(1)}% < 95%`
          : pingMs > 500
            ? `ping ${pingMs.toFixed(0)} ms > 500 ms`
            : failed > 0 && target + 1 <= limit
              ? `${failed} dials failed below the limit`
              : null
      if (reason) {
        result.degradedAt = { peers: target, reason }
        break
      }
      if (p95Ms > 1_000 && !result.slowAt) result.slowAt = { peers: target, p95Ms }
      result.held = m.connections
      result.bytesPerConnection = Math.round(
        slope([
          { x: 0, y: result.baselineRssBytes },
          ...result.steps.map((s) => ({ x: s.connections, y: s.rssBytes })),
        ]),
      )
    }

    if (!result.degradedAt && !result.stoppedEarly && left() > 20_000) {
      const attempted = Math.ceil(limit * 0.1)
      const before = (await freshMetrics()).refused?.connections ?? 0
      const failed = await addPeers(attempted)
      const after = await freshMetrics()
      result.beyondLimit = { attempted, failedDials: failed, relayRefused: (after.refused?.connections ?? 0) - before }
      log(
        `beyond the limit: ${attempted} more dials, ${failed} refused (relay counted ${result.beyondLimit.relayRefused}); relay holds ${after.connections}`,
      )
    }
    void failedTotal
    return result
  } finally {
    await probe?.stop().catch(() => {})
    await Promise.all(workers.map((w) => w.ask({ type: 'stop' }, 30_000).catch(() => {})))
    await Promise.all(workers.map((w) => w.process.stop()))
    await relay?.process.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string' },
      workers: { type: 'string' },
      limit: { type: 'string' },
      'deadline-s': { type: 'string' },
    },
    strict: true,
  })
  const steps = values.steps?.split(',').map(Number)
  if (steps && steps.some((n, i) => !Number.isInteger(n) || n < 1 || n > 20_000 || (i > 0 && n <= steps[i - 1]!)))
    throw new Error('--steps: increasing peer counts, each 1..20000, comma-separated')
  const int = (value: string | undefined, name: string, min: number, max: number) => {
    if (value === undefined) return undefined
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`)
    return n
  }
  const workers = int(values.workers, 'workers', 1, 32)
  const limit = int(values.limit, 'limit', 1, 100_000)
  const deadline = int(values['deadline-s'], 'deadline-s', 30, 3_600)
  const result = await measureRelayCapacity({
    ...(steps ? { steps } : {}),
    ...(workers ? { workers } : {}),
    ...(limit ? { limit } : {}),
    ...(deadline ? { deadlineMs: deadline * 1000 } : {}),
    log: console.log,
  })
  console.log(JSON.stringify(result))
  console.log(
    `one relay holds ${result.held} connections with gossip on, ${(result.bytesPerConnection / 1024).toFixed(1)} KiB each; ${result.slowAt ? `gossip p95 over 1 s from ${result.slowAt.peers} peers; ` : ''}${result.degradedAt ? `degraded at ${result.degradedAt.peers} peers (${result.degradedAt.reason})` : 'no degradation within the steps'}${result.beyondLimit ? `; beyond its limit ${result.beyondLimit.failedDials}/${result.beyondLimit.attempted} dials refused` : ''}`,
  )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error((error as Error).message)
      process.exit(1)
    },
  )
}
