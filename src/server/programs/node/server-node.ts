/**
 * A server node: the browser node's provider service (`src/node/provider.ts`: cashier, settlement, announcer,
 * proofs, final vouchers, jobs and oracle work when asked) run in Node on a native llama.cpp engine, with its keys
 * and books in a state directory that survives restarts, its operations endpoints (`/metrics`, GraphQL) and its
 * console socket.
 *
 * State directory (mode 0700): `operator.key` (unless --key-file), `signer.key`, `peer.key`, `ops.token` (all
 * 0600), `state.json` (the books: channels, receipts, batches, sequence numbers; 0600), `history.jsonl` (served
 * requests and uptime samples), `console.sock` (0600).
 *
 * Drain (SIGTERM, SIGINT, or the console's `drain`): stop taking requests (the infer protocol is unhandled and the
 * announcer stops, so consumers go elsewhere), let requests in flight finish for up to `drainMs`, cancel the rest (a
 * cancelled request is billed for the tokens it sent, its consumer keeps its credit), anchor every receipt not yet
 * anchored, write the books, then stop.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import {
  createPublicClient,
  createWalletClient,
  http,
  keccak256,
  toBytes,
  type Address,
  type Client,
  type Hex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { readContract } from 'viem/actions'
import { withdrawStake } from '../../../chain/actions/withdrawStake.ts'
import type { WalletClient } from '../../../chain/actions/internal.ts'
import { DEVNET_CHAIN_ID, deploymentChain, fundFromDevnet } from '../../../chain/devnet-faucet.ts'
import { nodeRegistryAbi } from '../../../chain/generated.ts'
import { deploymentRelays, parseDeployment, type Deployment } from '../../../core/deployment.ts'
import { NodeConsoleError, NodeOptionError } from '../../../core/errors/operations.ts'
import { UPTIME_SAMPLE_MS } from '../../../core/history.ts'
import type { InferenceEngine, LoadedModel, ModelSpec } from '../../../core/inference.ts'
import { findModel, WASM_CATALOG } from '../../../core/models.ts'
import { createMemoryEngine } from '../../../engine/memory/memory-engine.ts'
import { createNativeEngine } from '../../../engine/native/native-engine.ts'
import { createProviderService, type ProviderService } from '../../../node/provider.ts'
import { registerProvider } from '../../../node/register.ts'
import { INFER_PROTOCOL } from '../../../core/wire/infer.ts'
import { createPeer, type Peer } from '../../../p2p/peer.ts'
import { jsonFileStore } from '../../../store/file-store.ts'
import { loadOrCreatePeerKeyFile } from '../../../store/key-file.ts'
import { loadOrCreateKeyFile, loadOrCreateTokenFile } from '../../../store/secret-file.ts'
import { startConsoleServer, type ConsoleServer } from './console.ts'
import { nodeSchema, type NodeGraphSource } from './graphql.ts'
import { openHistoryLog } from './history-log.ts'
import { startOpsServer, type OpsServer } from './ops-http.ts'
import { NODE_DEFAULTS, type ConsoleCommand, type NodeRunOptions } from './options.ts'
import { NodeTelemetry, type NodeSnapshot } from './telemetry.ts'

/** The files of a state directory. */
export function stateFiles(stateDir: string) {
  return {
    operatorKey: join(stateDir, 'operator.key'),
    signerKey: join(stateDir, 'signer.key'),
    peerKey: join(stateDir, 'peer.key'),
    opsToken: join(stateDir, 'ops.token'),
    books: join(stateDir, 'state.json'),
    history: join(stateDir, 'history.jsonl'),
    consoleSocket: join(stateDir, 'console.sock'),
  }
}

export type DrainReport = {
  cancelled: number
  finished: number
  anchored: number
  receiptsPending: number
  anchorError: string | null
}

export type ServerNode = {
  readonly peerId: string
  readonly operator: Address
  readonly signer: Address
  readonly model: LoadedModel
  readonly opsUrl: string
  readonly service: ProviderService
  /** Drains (see the module comment) and stops everything but the console; the same promise for every caller. */
  drain(): Promise<DrainReport>
  /** Settles when a drain asked for by anyone (a signal, the console) is done. */
  readonly drained: Promise<DrainReport>
  /** Closes the console socket, letting an answer being written go out first. */
  closeConsole(): Promise<void>
}

/** Time the anchoring at the end of a drain may take before the node stops anyway (the books keep the receipts). */
const DRAIN_ANCHOR_MS = 30_000

export async function startServerNode(
  options: NodeRunOptions,
  log: (line: string) => void = () => {},
): Promise<ServerNode> {
  const files = stateFiles(options.stateDir)
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 })
  const deployment = await readDeployment(options.deploymentFile)
  const relays = options.relay ? [options.relay] : deploymentRelays(deployment)
  if (relays.length === 0)
    throw new NodeOptionError({ option: '--relay', expected: 'a relay multiaddr (the deployment names none)' })
  const registry = deployment.contracts.NodeRegistry
  if (!registry) throw new NodeOptionError({ option: '--deployment', expected: 'a deployment with a NodeRegistry' })
  const devnet = deployment.chainId === DEVNET_CHAIN_ID
  const chain = deploymentChain(deployment)
  const transport = http(deployment.rpcUrl)
  const reader: Client = createPublicClient({ chain, transport, pollingInterval: 250 })

  // Keys: the operator's wallet (given, or made and funded on the devnet only), the node signer, the peer identity.
  const operatorKey = await loadOrCreateKeyFile(options.keyFile ?? files.operatorKey, {
    create: !options.keyFile && devnet,
  })
  const operator = privateKeyToAccount(operatorKey)
  const signerKey = await loadOrCreateKeyFile(files.signerKey)
  const signer = privateKeyToAccount(signerKey)
  const opsToken = await loadOrCreateTokenFile(files.opsToken)
  const peerKey = await loadOrCreatePeerKeyFile(files.peerKey)
  if (devnet) {
    await fundFromDevnet(deployment, operator.address, { funder: NODE_DEFAULTS.devnetFunder })
    await fundFromDevnet(deployment, signer.address, { funder: NODE_DEFAULTS.devnetFunder, ai: 0n })
  }
  const operatorWallet = createWalletClient({
    account: operator,
    chain,
    transport,
    pollingInterval: 250,
  }) as WalletClient

  const telemetry = new NodeTelemetry()
  const base = await openEngine(options)
  const engine = telemetry.instrument(base.engine)
  const model = await engine.load(base.spec, {
    ...(options.threads ? { threads: options.threads } : {}),
    onProgress: (p) => log(`  ${p.phase}: ${p.text}`),
  })
  log(`Model ${model.id} loaded (${model.engine}, content hash ${model.contentHash}).`)

  const history = await openHistoryLog(files.history)
  if (history.skipped > 0) log(`History: ${history.skipped} unreadable line(s) in ${files.history} skipped.`)
  const startedAt = Date.now()
  const peer: Peer = await createPeer({
    relays,
    node: {
      runtime: 'node',
      privateKey: peerKey,
      webrtc: options.webrtc,
      ...(options.webrtcAddress ? { iceBindAddress: options.webrtcAddress } : {}),
      listen: ['/p2p-circuit', ...(options.webrtc ? ['/webrtc'] : []), ...options.listen],
    },
  })
  let service: ProviderService | undefined
  let ops: OpsServer | undefined
  let consoleServer: ConsoleServer | undefined
  let uptimeTimer: ReturnType<typeof setInterval> | undefined
  try {
    await peer.node.waitForReservation(30_000)
    const peerId = peer.node.peerId.toString()
    const minStake = await readContract(reader, { address: registry, abi: nodeRegistryAbi, functionName: 'minStake' })
    const registered = await registerProvider(operatorWallet, reader, {
      deployment,
      signer,
      peerId,
      models: [model.contentHash as Hex],
      prices: options.prices,
      stake: options.stake ?? minStake,
    })
    log(
      registered
        ? `Registered operator ${operator.address} with signer ${signer.address} and peer ${peerId}.`
        : `Already registered: operator ${operator.address}, signer ${signer.address}, peer ${peerId}.`,
    )
    const own = peer.node.libp2p.getMultiaddrs().filter((a) => !a.toString().includes('/p2p-circuit'))
    if (own.length > 0)
      log(`Listening directly on ${own.map(String).join(', ')} (consumers that reach it skip the relay).`)

    const store = jsonFileStore(files.books)
    service = createProviderService(
      { peer, engine, deployment, transport: http(deployment.rpcUrl), store },
      {
        signer: { privateKey: signerKey, address: signer.address },
        operator: operator.address,
        prices: options.prices,
        ...(options.batchMaxReceipts ? { batch: { maxReceipts: options.batchMaxReceipts } } : {}),
        ...(options.redeemThreshold !== undefined ? { redeemThreshold: options.redeemThreshold } : {}),
        ...(options.announceIntervalMs ? { announceIntervalMs: options.announceIntervalMs } : {}),
        ...(options.jobs ? { jobs: { enabled: true, prices: options.prices } } : {}),
        ...(options.oracleTemplates.length > 0
          ? { oracle: { enabled: true, templates: options.oracleTemplates } }
          : {}),
        onReceipt: (signed, result) =>
          void history
            .addServed(telemetry.receipt(signed, result, model.id, Date.now()))
            .catch((error: unknown) => log(`History: could not write (${(error as Error).message}).`)),
      },
    )
    await service.start()
    const running = service
    await history.addUptime({ at: Date.now(), online: true })
    uptimeTimer = setInterval(
      () => void history.addUptime({ at: Date.now(), online: true }).catch(() => {}),
      UPTIME_SAMPLE_MS,
    )
    uptimeTimer.unref()

    let draining: Promise<DrainReport> | null = null
    let reportDrained: (report: Promise<DrainReport>) => void = () => {}
    const drained = new Promise<DrainReport>((resolve) => (reportDrained = resolve))
    let lastMetrics = running.metrics()
    const snapshot = (): NodeSnapshot => {
      // Once the service has stopped (the end of a drain) its last figures stand.
      const provider = draining ? lastMetrics : (lastMetrics = running.metrics())
      // Receipts are anchored oldest first and every receipt is in the history, in order: the oldest one waiting
      // is the `receiptsPending`-th from the end.
      const oldest =
        provider.receiptsPending > 0 ? history.served[history.served.length - provider.receiptsPending] : undefined
      return {
        now: Date.now(),
        startedAt,
        draining: draining !== null,
        provider,
        server: peer.server.stats(),
        peers: peer.node.libp2p.getPeers().length,
        directoryNodes: peer.directory.list().length,
        oldestPendingAt: oldest?.at ?? null,
      }
    }
    const graph: NodeGraphSource = {
      snapshot,
      identity: async () => ({
        peerId,
        operator: operator.address,
        signer: signer.address,
        chainId: deployment.chainId,
        model: {
          id: model.id,
          contentHash: model.contentHash,
          engine: model.engine,
          contextLength: model.contextLength,
        },
        prices: options.prices,
      }),
      latency: () => [telemetry.latency.chat.snapshot(), telemetry.latency.completion.snapshot()],
      served: () => history.served,
      uptime: () => history.uptime,
      jobs: () => running.jobs?.stats() ?? null,
    }
    ops = await startOpsServer({
      port: options.opsPort,
      token: opsToken,
      metrics: () => telemetry.families(snapshot()),
      schema: nodeSchema(),
      graph,
    })
    const opsServer = ops

    const drain = (): Promise<DrainReport> => {
      draining ??= (async () => {
        log('Draining: no new requests; requests in flight may finish.')
        const before = peer.server.stats()
        await peer.node.libp2p.unhandle(INFER_PROTOCOL).catch(() => {})
        await running.announcer.stop()
        const inFlight = before.active + before.queued
        const idle = () => {
          const s = peer.server.stats()
          return s.active + s.queued === 0
        }
        await waitFor(idle, options.drainMs)
        const cancelledBefore = peer.server.stats().cancelled
        lastMetrics = running.metrics()
        // Whatever is still running is cancelled: billed for what it sent, its consumer keeps the rest of its credit.
        await running.stop()
        await waitFor(idle, 10_000)
        const cancelled = peer.server.stats().cancelled - cancelledBefore
        const anchoredBefore = running.batches().filter((b) => b.status === 'anchored').length
        let anchorError: string | null = null
        try {
          await withTimeout(running.anchorNow(), DRAIN_ANCHOR_MS)
        } catch (error) {
          anchorError = (error as Error).message.split('\n')[0] ?? 'error'
          log(
            `Anchoring at drain failed (${anchorError}); the receipts stay in ${files.books} and are anchored at the next start.`,
          )
        }
        const anchored = running.batches().filter((b) => b.status === 'anchored').length - anchoredBefore
        lastMetrics = {
          ...lastMetrics,
          batchesAnchored: anchoredBefore + anchored,
          receiptsPending: running
            .batches()
            .filter((b) => b.status === 'cut')
            .reduce((n, b) => n + b.receiptHashes.length, 0),
        }
        const receiptsPending = running
          .batches()
          .filter((b) => b.status === 'cut')
          .reduce((n, b) => n + b.receiptHashes.length, 0)
        clearInterval(uptimeTimer)
        await history.addUptime({ at: Date.now(), online: false }).catch(() => {})
        await history.flush()
        const report: DrainReport = {
          cancelled,
          finished: Math.max(0, inFlight - cancelled),
          anchored,
          receiptsPending,
          anchorError,
        }
        log(
          `Drained: ${report.finished} finished, ${report.cancelled} cancelled, ${report.anchored} batch(es) anchored.`,
        )
        await opsServer.close()
        await peer.stop().catch(() => {})
        await closeEngine(base.engine)
        return report
      })()
      reportDrained(draining)
      return draining
    }

    consoleServer = await startConsoleServer(files.consoleSocket, opsToken, async (command: ConsoleCommand) => {
      switch (command) {
        case 'status': {
          const s = snapshot()
          return {
            peerId,
            operator: operator.address,
            signer: signer.address,
            model: model.id,
            draining: s.draining,
            active: s.server.active,
            queued: s.server.queued,
            receiptsSigned: s.provider.jobsServed,
            receiptsPending: s.provider.receiptsPending,
            batchesAnchored: s.provider.batchesAnchored,
            earningsSettled: s.provider.earningsSettled.toString(),
            earningsPending: s.provider.earningsPending.toString(),
            earningsRedeemed: s.provider.earningsRedeemed.toString(),
            lastError: s.provider.lastError,
            peers: s.peers,
          }
        }
        case 'drain':
          return { ...(await drain()) }
        case 'anchor': {
          if (draining) throw new NodeConsoleError({ reason: 'failed', details: 'the node is draining' })
          await running.anchorNow()
          return {
            batchesAnchored: running.metrics().batchesAnchored,
            receiptsPending: running.metrics().receiptsPending,
          }
        }
        case 'redeem': {
          if (draining) throw new NodeConsoleError({ reason: 'failed', details: 'the node is draining' })
          return { redeemed: (await running.redeemNow()).toString() }
        }
        case 'withdraw': {
          const { transactionHash, amount } = await withdrawStake(operatorWallet, { registry })
          return { withdrawn: amount.toString(), transactionHash }
        }
      }
    })
    const console_ = consoleServer
    return {
      peerId,
      operator: operator.address,
      signer: signer.address,
      model,
      opsUrl: ops.url,
      service: running,
      drain,
      drained,
      closeConsole: () => console_.close(),
    }
  } catch (error) {
    clearInterval(uptimeTimer)
    await consoleServer?.close().catch(() => {})
    await ops?.close().catch(() => {})
    await service?.stop().catch(() => {})
    await peer.stop().catch(() => {})
    await closeEngine(base.engine)
    throw error
  }
}

/** The engine and the model to load on it: a GGUF file on the native engine, or a model id on the in-memory one. */
async function openEngine(options: NodeRunOptions): Promise<{ engine: InferenceEngine; spec: ModelSpec }> {
  if (options.engine === 'memory') {
    const engine = createMemoryEngine(options.tokenDelayMs === undefined ? {} : { tokenDelayMs: options.tokenDelayMs })
    return {
      engine,
      spec: {
        id: options.model,
        contentHash: memoryContentHash(options.model),
        engine: 'memory',
        contextLength: options.contextLength,
        source: 'memory',
        chatTemplate: 'memory',
      },
    }
  }
  const engine = createNativeEngine({ gpu: options.gpu, ...(options.threads ? { threads: options.threads } : {}) })
  const id = basename(options.model).replace(/\.gguf$/i, '')
  // A file named after a catalog model is served as that model: its pinned hash is checked, its FIM format known.
  const known = findModel(WASM_CATALOG, id)
  if (known)
    return {
      engine,
      spec: {
        ...known,
        engine: 'native',
        source: options.model,
        contextLength: Math.min(known.contextLength, options.contextLength),
      },
    }
  return {
    engine,
    spec: {
      id,
      contentHash: null,
      engine: 'native',
      contextLength: options.contextLength,
      source: options.model,
      chatTemplate: 'gguf',
    },
  }
}

/** The content hash the memory engine announces for a model id (it has no file): keccak256 of `memory:<id>`. */
export function memoryContentHash(id: string): Hex {
  return keccak256(toBytes(`memory:${id}`))
}

async function closeEngine(engine: InferenceEngine): Promise<void> {
  const closable = engine as InferenceEngine & { close?: () => Promise<void> }
  await (closable.close ? closable.close() : engine.unload()).catch(() => {})
}

async function readDeployment(path: string): Promise<Deployment> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new NodeOptionError({
      option: '--deployment',
      expected: 'a deployment file (start the local stack with `npm start`, or pass --deployment FILE)',
      value: path,
    })
  }
  return parseDeployment(JSON.parse(text))
}

/** Resolves once `done()` holds or `ms` passed (polled every 50 ms: bounded). */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms)),
  )
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
