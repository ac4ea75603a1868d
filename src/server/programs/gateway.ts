/**
 * `npm run gateway`: an OpenAI-compatible HTTP API on 127.0.0.1 for any editor that speaks the OpenAI API (VS Code
 * with Continue, …). Serves `GET /v1/models`, `POST /v1/completions` (`suffix` = fill-in-the-middle) and
 * `POST /v1/chat/completions`, streamed (SSE) or not; every request needs the bearer token printed at start.
 * Two routes: `local` forwards over libp2p to the user's own browser node, paired by its peer id and the token its
 * Code view shows (`--pair <peer>:<token>`, or `POST /modelex/pair`); `network` pays network nodes per request
 * through the consumer SDK (quote, voucher over a payment channel, streamed answer, verified receipt) with a wallet
 * key held by the gateway. A request picks its route with `modelex_route` (and may name a node with `modelex_node`);
 * `--route` sets the default.
 *
 * Options: --port (8080; 0 picks one), --relay (default: the deployment's), --pair <peer>:<token>, --token
 * (default: random; or MODELEX_GATEWAY_TOKEN), --key-file (.modelex/gateway.key: the gateway's peer id),
 * --route local|network (MODELEX_GATEWAY_ROUTE), --deployment (.modelex/deployment.json), --wallet-key-file (a file
 * holding a 0x private key; or MODELEX_WALLET_KEY; on the devnet without either, a burner funded from an anvil test
 * account), --state-file (.modelex/gateway-state.json: channels, receipts and the devnet burner's key), and the
 * network route's spend limits in AI (`--max-spend-per-request`, `--max-deposit`, `--max-price-in`,
 * `--max-price-out`; default the SDK's). `--help` prints them all (`GATEWAY_USAGE`).
 *
 * Neither route lets a node make the gateway hold more than the request's max_tokens: the SDK meters the paid
 * stream, `meteredTexts` the local one.
 */
import '../lib/node-shims.ts'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createPublicClient, createWalletClient, formatEther, http, parseEther, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { WalletClient } from '../../chain/actions/internal.ts'
import { DEVNET_CHAIN_ID, deploymentChain, fundFromDevnet } from '../../chain/devnet-faucet.ts'
import { CLIENT_DEFAULTS } from '../../client/constants.ts'
import {
  createClient,
  type ChatCreateParameters,
  type CompletionCreateParameters,
  type ModelexClient,
  type ModelRef,
  type PaidResult,
} from '../../client/client.ts'
import { newPairToken, parsePairingLine, tokensEqual, type PairedModel } from '../../core/autocomplete-pairing.ts'
import { streamMeter, type SpendLimits } from '../../core/bounds.ts'
import { deploymentRelays, parseDeployment, type Deployment } from '../../core/deployment.ts'
import { walkCauses } from '../../core/errors/base.ts'
import {
  GatewayAuthError,
  GatewayError,
  GatewayOptionError,
  InvalidGatewayRequestError,
  ModelNotServedError,
  NetworkRouteUnavailableError,
  NodeNotPairedError,
  PaidRouteError,
  PairingError,
  RequestTooLargeError,
  UnknownRouteError,
  UpstreamNodeError,
  type GatewayErrorCode,
} from '../../core/errors/gateway.ts'
import { InferRequestError, InferStreamError, type InferErrorCode } from '../../core/errors/p2p.ts'
import { SpendLimitError, StreamLimitError, type SpendLimit } from '../../core/errors/payments.ts'
import type { Delta, FinishReason, Usage } from '../../core/inference.ts'
import { pinnedModelRefs, WASM_CATALOG } from '../../core/models.ts'
import { encodeSseDone, encodeSseEvent } from '../../core/sse.ts'
import { MAX_REQUEST_BYTES } from '../../core/wire/infer.ts'
import { pair } from '../../autocomplete/pairing.ts'
import { infer } from '../../p2p/infer-client.ts'
import type { ModelexNode } from '../../p2p/node.ts'
import { createPeer, type Peer } from '../../p2p/peer.ts'
import { registryLookup } from '../../p2p/registry.ts'
import { jsonFileStore } from '../../store/file-store.ts'
import { loadOrCreatePeerKeyFile } from '../../store/key-file.ts'
import type { KeyValueStore } from '../../store/kv.ts'
import { loadOrCreatePrivateKey } from '../../store/signer-key.ts'
import {
  completionResponse,
  errorBody,
  modelList,
  paidSummary,
  parseOpenAiRequest,
  streamChunk,
  usageChunk,
  type GatewayRoute,
  type OpenAiKind,
  type ParsedOpenAiRequest,
  type PaidSummary,
} from './gateway-openai.ts'

const root = resolve(import.meta.dirname, '../../..')

export const GATEWAY_DEFAULTS = {
  port: 8080,
  /** A request must fit the infer protocol's request frame. */
  maxBodyBytes: MAX_REQUEST_BYTES,
  /** Requests forwarded at once; more wait in the browser node's own queue, which answers BUSY when full. */
  maxConcurrent: 16,
  bodyTimeoutMs: 10_000,
  /** The anvil test account that funds the gateway's devnet burner wallet. */
  devnetFunder: 9,
  /** max_tokens of a local request that names none: what the browser engines default to, made explicit so it can be metered. */
  maxTokens: 256,
} as const

/**
 * The network route's spend limits on the command line: flag, environment variable, unit, and the SDK's default
 * as the usage text states it (the SDK applies it; `createClient` gets only the limits given here).
 */
export const SPEND_LIMIT_OPTIONS = {
  maxSpendPerRequest: {
    flag: 'max-spend-per-request',
    env: 'MODELEX_MAX_SPEND_PER_REQUEST',
    unit: 'AI',
    what: 'the most one request may cost',
  },
  maxDeposit: {
    flag: 'max-deposit',
    env: 'MODELEX_MAX_DEPOSIT',
    unit: 'AI',
    what: 'the most one payment channel (with one node) may hold',
  },
  maxPricePerMillionInput: {
    flag: 'max-price-in',
    env: 'MODELEX_MAX_PRICE_IN',
    unit: 'AI per million input tokens',
    what: 'the highest price per million input tokens accepted',
  },
  maxPricePerMillionOutput: {
    flag: 'max-price-out',
    env: 'MODELEX_MAX_PRICE_OUT',
    unit: 'AI per million output tokens',
    what: 'the highest price per million output tokens accepted',
  },
} as const satisfies Record<SpendLimit, { flag: string; env: string; unit: string; what: string }>

const SPEND_LIMITS = Object.keys(SPEND_LIMIT_OPTIONS) as SpendLimit[]

/** Paying network nodes: the network to pay on and the wallet that pays. */
export type GatewayNetwork = {
  deployment: Deployment
  wallet: WalletClient
  /** Where channels and receipts persist; default in memory. */
  store?: KeyValueStore
  /** Models known by id besides the catalog's. */
  models?: readonly ModelRef[]
  channelDeposit?: bigint
  /** What any node may take (AI wei); those not given keep the SDK's defaults. */
  limits?: Partial<SpendLimits>
  /**
   * Hedge fill-in-the-middle completions (an editor's autocomplete) that name no node: ask the two best nodes, keep
   * the first to produce a token, cancel the other (paid only what it sent). Default true; `modelex_hedge` overrides.
   */
  hedgeFim?: boolean
}

export type GatewayOptions = {
  port?: number
  /** Relay multiaddr; without one the gateway runs but cannot pair. */
  relay?: string | null
  /** The bearer token clients must send; random when not given. */
  token?: string
  keyFile?: string
  pair?: { peer: string; token: string }
  maxBodyBytes?: number
  /** Paid routing to network nodes; without it the `network` route answers 503. */
  network?: GatewayNetwork
  /** The route of requests that do not name one (`modelex_route`). */
  route?: GatewayRoute
  log?: (line: string) => void
}

export type Gateway = {
  readonly url: string
  readonly token: string
  readonly node: ModelexNode | null
  /** The paired browser node and its models, or null. */
  paired(): { peer: string; models: PairedModel[] } | null
  pairWith(peer: string, token: string): Promise<PairedModel[]>
  /** The SDK client of the network route, when it has one. */
  readonly client: ModelexClient | null
  close(): Promise<void>
}

export async function startGateway({
  port = GATEWAY_DEFAULTS.port,
  relay = null,
  token = newPairToken(),
  keyFile,
  pair: initialPair,
  maxBodyBytes = GATEWAY_DEFAULTS.maxBodyBytes,
  network,
  route: defaultRoute = 'local',
  log = () => {},
}: GatewayOptions = {}): Promise<Gateway> {
  // The gateway's peer (src/p2p/peer.ts): its node dials the paired tab and network nodes, its directory (marking
  // nodes registered on the deployment's NodeRegistry) is the network route's. It serves nothing: no engine, no policy.
  let peer: Peer | null = null
  const relays = relay ? [relay] : network ? deploymentRelays(network.deployment) : []
  if (relays.length > 0) {
    const registry = network?.deployment.contracts.NodeRegistry
    const isRegistered =
      network && registry
        ? registryLookup(
            createPublicClient({ transport: http(network.deployment.rpcUrl), pollingInterval: 100 }),
            registry,
          )
        : undefined
    peer = await createPeer({
      relays,
      // WebRTC, dial only: browser nodes are reached directly once the first request went through the relay
      // (dial.ts); nobody can open a WebRTC connection to the gateway.
      node: {
        runtime: 'node',
        webrtc: true,
        listen: ['/p2p-circuit'],
        ...(keyFile ? { privateKey: await loadOrCreatePeerKeyFile(keyFile) } : {}),
      },
      directory: isRegistered ? { isRegistered } : {},
    })
  }
  const node: ModelexNode | null = peer?.node ?? null
  const networkModels = [...(network?.models ?? []), ...pinnedModelRefs(WASM_CATALOG)]
  const client =
    network && peer
      ? createClient({
          deployment: network.deployment,
          wallet: network.wallet,
          node: peer.node,
          directory: peer.directory,
          models: networkModels,
          ...(network.store ? { store: network.store } : {}),
          ...(network.channelDeposit !== undefined ? { channelDeposit: network.channelDeposit } : {}),
          ...(network.limits ? { limits: network.limits } : {}),
        })
      : null
  if (client) {
    // Listen for announcements from the start, so the first paid request finds its nodes sooner.
    await client.start()
    for (const model of networkModels) void client.nodes({ model: model.id, timeoutMs: 0 }).catch(() => {})
  }
  let paired: { peer: string; token: string; models: PairedModel[] } | null = null
  let active = 0
  const pairWith = async (peer: string, pairToken: string): Promise<PairedModel[]> => {
    if (!node)
      throw new PairingError({
        peer,
        reason: 'unreachable',
        details: 'the gateway has no relay: start it with --relay <multiaddr>, or start the local stack first',
      })
    const models = await pair(node, { peer, token: pairToken })
    paired = { peer, token: pairToken, models }
    log(`paired with ${peer}: ${models.map((m) => m.id).join(', ') || 'no model loaded'}`)
    return models
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const method = req.method ?? 'GET'
    if (!authorized(req, token)) throw new GatewayAuthError()
    if (method === 'GET' && path === '/v1/models') {
      if (!paired && !client) throw new NodeNotPairedError()
      // Asking again refreshes the list (the tab may have loaded another model) and checks the node is there.
      const local = paired
        ? await pairWith(paired.peer, paired.token).catch((error: unknown) => {
            if (client) return []
            throw error instanceof PairingError
              ? new UpstreamNodeError({ peer: paired?.peer ?? '', details: error.message, cause: error, status: 503 })
              : error
          })
        : []
      // The network route takes any model it knows by id; which nodes serve it is found per request.
      const remote = client
        ? networkModels
            .filter((m) => !local.some((l) => l.id === m.id))
            .map((m) => ({ id: m.id, owned_by: 'modelex-network' }))
        : []
      return sendJson(res, 200, modelList([...local, ...remote], Math.floor(Date.now() / 1000)))
    }
    if (method === 'POST' && path === '/modelex/pair') {
      const body = await readJson(req, maxBodyBytes)
      const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
      const line =
        typeof fields['line'] === 'string'
          ? parsePairingLine(fields['line'])
          : typeof fields['peer'] === 'string' && typeof fields['token'] === 'string'
            ? { peer: fields['peer'], token: fields['token'] }
            : null
      if (!line)
        throw new InvalidGatewayRequestError(
          'Send {"line": "<peer id>:<token>"} or {"peer": "...", "token": "..."} as shown in the Code view.',
        )
      const models = await pairWith(line.peer, line.token)
      return sendJson(res, 200, { paired: line.peer, models })
    }
    const kind: OpenAiKind | null =
      method === 'POST' && path === '/v1/completions'
        ? 'completion'
        : method === 'POST' && path === '/v1/chat/completions'
          ? 'chat'
          : null
    if (!kind) throw new UnknownRouteError({ method, path })
    const parsed = parseOpenAiRequest(kind, await readJson(req, maxBodyBytes))
    const route = parsed.route ?? defaultRoute
    if (route === 'network' && !client)
      throw new NetworkRouteUnavailableError(network ? 'the gateway has no relay to reach the network' : undefined)
    if (route === 'local') {
      if (!paired || !node) throw new NodeNotPairedError()
      const served = paired.models[0]
      if (served && served.id !== parsed.request.model)
        throw new ModelNotServedError({ requested: parsed.request.model, served: served.id })
    }
    if (active >= GATEWAY_DEFAULTS.maxConcurrent)
      throw new UpstreamNodeError({
        peer: paired?.peer ?? 'network',
        details: `more than ${GATEWAY_DEFAULTS.maxConcurrent} requests at once`,
        status: 429,
      })
    active++
    try {
      if (route === 'network')
        await respond(
          res,
          kind,
          parsed,
          (signal) => paidUpstream(client as ModelexClient, parsed, signal, network?.hedgeFim ?? true),
          paidError,
        )
      else {
        const local = () =>
          respond(
            res,
            kind,
            parsed,
            (signal) => localUpstream(node as ModelexNode, paired?.peer ?? '', parsed, signal),
            (error) => upstreamError(error, paired?.peer ?? ''),
          )
        try {
          await local()
        } catch (error) {
          // The tab was reloaded: it kept its peer id and token but forgot this gateway. Pair again once and retry.
          if (!(error instanceof NodeNotPairedError) || res.headersSent || !paired) throw error
          await pairWith(paired.peer, paired.token)
          await local()
        }
      }
    } finally {
      active--
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, error, paired?.peer ?? ''))
  })
  server.requestTimeout = 0
  server.headersTimeout = GATEWAY_DEFAULTS.bodyTimeoutMs
  await new Promise<void>((resolveListen, reject) =>
    server.once('error', reject).listen(port, '127.0.0.1', () => resolveListen()),
  )
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`
  if (initialPair) await pairWith(initialPair.peer, initialPair.token)
  return {
    url,
    token,
    node,
    paired: () => (paired ? { peer: paired.peer, models: paired.models } : null),
    pairWith,
    client,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
      await client?.stop()
      await peer?.stop()
    },
  }
}

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? ''
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match !== null && tokensEqual(match[1] as string, token)
}

/** Reads at most `limit` bytes of JSON; a larger body is refused (413) without reading it all. */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new RequestTooLargeError({ limit })
  const chunks: Buffer[] = []
  let size = 0
  const timer = setTimeout(() => req.destroy(new Error('body timeout')), GATEWAY_DEFAULTS.bodyTimeoutMs)
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > limit) throw new RequestTooLargeError({ limit })
      chunks.push(chunk)
    }
  } finally {
    clearTimeout(timer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (error) {
    throw new InvalidGatewayRequestError('The body is not JSON.', error)
  }
}

/** Where an answer comes from: its text pieces as they stream, then how it ended (and, when paid, what it cost). */
type Upstream = {
  pieces: AsyncIterable<string>
  result: Promise<{ finish_reason: FinishReason; usage: Usage; modelex?: PaidSummary }>
}

/**
 * The paired browser node, over the infer protocol, unpaid (the pairing token admits the gateway). The gateway's
 * default max_tokens is sent along, so the node and the meter agree on the limit.
 */
function localUpstream(
  node: ModelexNode,
  peer: string,
  { request }: ParsedOpenAiRequest,
  signal: AbortSignal,
): Upstream {
  const maxTokens = request.max_tokens ?? GATEWAY_DEFAULTS.maxTokens
  const call = infer(node, { peer, request: { ...request, max_tokens: maxTokens }, payment: null, signal })
  return { pieces: meteredTexts(call, maxTokens), result: call.result }
}

/**
 * The text of a node's deltas, counted against max_tokens: once the node sends more (tokens, or text that many
 * tokens cannot hold) this throws `StreamLimitError`, and leaving the loop cancels the call at the node, so a node
 * cannot make the gateway hold more than max_tokens' worth of text.
 */
export async function* meteredTexts(deltas: AsyncIterable<Delta>, maxTokens: number): AsyncGenerator<string> {
  const meter = streamMeter(maxTokens)
  for await (const delta of deltas) {
    meter.add(delta)
    if (delta.text) yield delta.text
  }
}

/**
 * A network node chosen by the SDK (or named by `modelex_node`), paid through a payment channel. The SDK routes, fails
 * over on BUSY or a node dead before its first token, and hedges fill-in-the-middle completions (see `hedgeFim`).
 */
async function paidUpstream(
  client: ModelexClient,
  { request, node, hedge, reproducible }: ParsedOpenAiRequest,
  signal: AbortSignal,
  hedgeFim: boolean,
): Promise<Upstream> {
  const common = {
    ...(node ? { node } : {}),
    ...(reproducible !== undefined ? { reproducible } : {}),
    signal,
    stream: true as const,
  }
  if (request.kind === 'completion') {
    const { kind: _, ...fields } = request
    const hedged = !node && (hedge ?? (hedgeFim && request.suffix !== undefined))
    const stream = await client.completions.create({
      ...(fields as CompletionCreateParameters),
      ...common,
      ...(hedged ? { hedge: true } : {}),
    })
    return { pieces: texts(stream, (chunk) => chunk.choices[0]?.text ?? ''), result: settled(stream.result) }
  }
  const { kind: _, ...fields } = request
  const stream = await client.chat.completions.create({ ...(fields as ChatCreateParameters), ...common })
  return { pieces: texts(stream, (chunk) => chunk.choices[0]?.delta.content ?? ''), result: settled(stream.result) }
}

/** The paid result as the response shows it. A failure also ends the stream, which reports it first. */
function settled(result: Promise<PaidResult>): Upstream['result'] {
  const outcome = result.then((r) => ({ finish_reason: r.finish_reason, usage: r.usage, modelex: paidSummary(r) }))
  outcome.catch(() => {})
  return outcome
}

async function* texts<T>(source: AsyncIterable<T>, text: (item: T) => string): AsyncGenerator<string> {
  for await (const item of source) {
    const piece = text(item)
    if (piece) yield piece
  }
}

/** Streams an upstream's answer to the client as SSE, or sends it whole; a client that hangs up cancels it. */
async function respond(
  res: ServerResponse,
  kind: OpenAiKind,
  { request, stream, includeUsage }: ParsedOpenAiRequest,
  open: (signal: AbortSignal) => Upstream | Promise<Upstream>,
  mapError: (error: unknown) => GatewayError,
): Promise<void> {
  const cancel = new AbortController()
  // The client hung up: cancelling stops the generation at the node (a paid request is billed for what the node had sent).
  const onClose = () => {
    if (!res.writableEnded) cancel.abort()
  }
  res.on('close', onClose)
  const ids = {
    id: `${kind === 'completion' ? 'cmpl' : 'chatcmpl'}-${newPairToken().slice(0, 24)}`,
    created: Math.floor(Date.now() / 1000),
    model: request.model,
  }
  let text = ''
  let started = false
  const startStream = () => {
    if (started) return
    started = true
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    })
  }
  try {
    const upstream = await open(cancel.signal)
    for await (const piece of upstream.pieces) {
      if (stream) {
        startStream()
        res.write(encodeSseEvent(streamChunk(kind, ids, piece, null, text === '')))
      }
      text += piece
    }
    const outcome = await upstream.result
    const extra = outcome.modelex ? { modelex: outcome.modelex } : {}
    if (!stream)
      return sendJson(res, 200, {
        ...completionResponse(kind, ids, text, outcome.finish_reason, outcome.usage),
        ...extra,
      })
    startStream()
    res.write(encodeSseEvent({ ...streamChunk(kind, ids, '', outcome.finish_reason), ...extra }))
    if (includeUsage) res.write(encodeSseEvent(usageChunk(kind, ids, outcome.usage)))
    res.end(encodeSseDone())
  } catch (error) {
    if (cancel.signal.aborted) return
    // The upstream failed or was refused (an overrun): make sure nothing keeps generating for this request.
    cancel.abort()
    const mapped = mapError(error)
    if (!started) throw mapped
    // Headers are gone: report in the stream, as OpenAI does, and end it.
    res.end(encodeSseEvent(errorBody(mapped)))
  } finally {
    res.off('close', onClose)
  }
}

/** The HTTP status for each error code of the infer protocol (the node's own refusals). */
const INFER_ERROR_STATUS: Record<InferErrorCode, number> = {
  BAD_REQUEST: 400,
  UNSUPPORTED_MODEL: 404,
  BUSY: 429,
  PAYMENT_REQUIRED: 402,
  TIMEOUT: 504,
  INTERNAL: 502,
}

/**
 * Statuses of the paid route's failures, by the error's name: who can fix it (the caller, the wallet, the network)
 * decides. A spend limit is the caller's to raise (402, like a wallet that cannot pay); an overrun, and anything
 * not listed, is the node's doing (502). The node's own refusals use `INFER_ERROR_STATUS`.
 */
const PAID_ERROR_STATUS: Record<string, number> = {
  NoNodeAvailableError: 503,
  AllNodesFailedError: 503,
  InsufficientDepositError: 402,
  ContractRevertedError: 402,
  SpendLimitError: 402,
  StreamLimitError: 502,
}

/** The OpenAI `code` of paid failures a client may act on by kind, by the error's name. */
const ERROR_CODE: Record<string, GatewayErrorCode> = {
  SpendLimitError: 'spend_limit',
  StreamLimitError: 'upstream_overrun',
}

/** The paid route's failure as the gateway answers it (status, OpenAI type and code, what to do). */
export function paidError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error
  // The SDK may wrap what stopped a request (a broken stream is PaidRequestInterruptedError): a listed cause decides.
  const known = walkCauses(error, (e) => e instanceof Error && Object.hasOwn(PAID_ERROR_STATUS, e.name)) ?? error
  const name = known instanceof Error ? known.name : 'Error'
  // What was wrong, not only what to do: a bad quote says which rule it broke (an inflated input count, a price).
  const short =
    known instanceof Error ? ((known as { shortMessage?: string }).shortMessage ?? known.message) : String(known)
  const why = known instanceof Error ? (known as { details?: string }).details : undefined
  let details = why ? `${short} ${why}` : short
  if (known instanceof SpendLimitError) details = spendLimitDetails(known)
  const status = PAID_ERROR_STATUS[name] ?? (known instanceof InferRequestError ? INFER_ERROR_STATUS[known.code] : 502)
  return new PaidRouteError({ reason: name, status, code: ERROR_CODE[name], details, cause: error })
}

/** Which limit the node's price or quote broke, by how much, and the flag that raises it. */
function spendLimitDetails(error: SpendLimitError): string {
  const { flag, env, unit } = SPEND_LIMIT_OPTIONS[error.limit]
  return `${error.limit} is ${formatEther(error.allowed)} ${unit} and the node asks ${formatEther(error.asked)}; nothing was paid. Raise it with --${flag} <AI> (or ${env}), ask for fewer max_tokens, or pick a cheaper node (modelex_node).`
}

/** A failure of the local route (the paired browser node), or of the gateway itself, as the gateway answers it. */
export function upstreamError(error: unknown, peer: string): GatewayError {
  if (error instanceof GatewayError) return error
  if (error instanceof StreamLimitError)
    return new UpstreamNodeError({
      peer,
      details: `it sent more than the request's max_tokens and was stopped there: ${error.shortMessage}`,
      cause: error,
      status: 502,
      code: 'upstream_overrun',
    })
  if (error instanceof InferRequestError) {
    if (error.code === 'PAYMENT_REQUIRED')
      return new NodeNotPairedError(
        `${peer} no longer knows this gateway (the tab was reloaded?): ${error.details ?? ''}`,
      )
    const status = INFER_ERROR_STATUS[error.code]
    return new UpstreamNodeError({
      peer,
      details: `${error.code}: ${error.details ?? error.message}`,
      cause: error,
      status,
    })
  }
  if (error instanceof InferStreamError)
    return new UpstreamNodeError({ peer, details: error.message, cause: error, status: 502 })
  return new UpstreamNodeError({
    peer,
    details: error instanceof Error ? error.message : String(error),
    cause: error,
    status: 500,
  })
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}

function sendError(res: ServerResponse, error: unknown, peer: string): void {
  const mapped = upstreamError(error, peer)
  const headers: Record<string, string> = mapped.status === 401 ? { 'www-authenticate': 'Bearer' } : {}
  const retry = error instanceof InferRequestError ? error.retryAfterMs : undefined
  if (retry !== undefined) headers['retry-after'] = String(Math.ceil(retry / 1000))
  // After a 413 the rest of the body is not read: close the connection instead of draining it.
  if (mapped.status === 413) headers['connection'] = 'close'
  sendJson(res, mapped.status, errorBody(mapped), headers)
}

export type GatewayCommandOptions = GatewayOptions & {
  port: number
  deploymentFile: string
  stateFile: string
  walletKeyFile?: string
  limits?: Partial<SpendLimits>
  help?: true
}

/** What `--help` prints. */
export const GATEWAY_USAGE = [
  'Usage: npm run gateway -- [options]',
  '',
  'An OpenAI-compatible API on http://127.0.0.1:<port>/v1 for your editor: your paired browser node (route local),',
  'or network nodes paid per request from a wallet (route network).',
  '',
  `  --port <n>                    port on 127.0.0.1 (default ${GATEWAY_DEFAULTS.port}; 0 picks one; MODELEX_GATEWAY_PORT)`,
  '  --token <token>               the bearer token clients send, 16 characters or more (default random; MODELEX_GATEWAY_TOKEN)',
  '  --pair <peer id>:<token>      pair with a browser node: the line its Code view shows',
  "  --relay <multiaddr>           the relay to reach nodes through (default the deployment's)",
  "  --key-file <file>             the gateway's peer key (default .modelex/gateway.key; MODELEX_GATEWAY_KEY_FILE)",
  '  --route local|network         the route of requests that name none with modelex_route (default local; MODELEX_GATEWAY_ROUTE)',
  '',
  'Network route:',
  '  --deployment <file>           the network to pay on (default .modelex/deployment.json; MODELEX_DEPLOYMENT)',
  "  --wallet-key-file <file>      a file holding the paying wallet's 0x private key (or MODELEX_WALLET_KEY; on the devnet",
  '                                without either, a burner funded from an anvil test account)',
  '  --state-file <file>           channels, receipts, the devnet burner (default .modelex/gateway-state.json; MODELEX_GATEWAY_STATE)',
  ...SPEND_LIMITS.map((limit) => {
    const { flag, env, what, unit } = SPEND_LIMIT_OPTIONS[limit]
    return `  ${`--${flag} <AI>`.padEnd(30)}${what} (${env}; the SDK's default: ${formatEther(CLIENT_DEFAULTS.limits[limit])} ${unit})`
  }),
  '  Amounts are in AI, with up to 18 decimals (0.5); prices are per million tokens. A node that asks more is refused',
  '  before anything is paid (HTTP 402, code spend_limit).',
  '',
  '  -h, --help                    print this',
].join('\n')

export function readGatewayOptions(argv: readonly string[], env: NodeJS.ProcessEnv): GatewayCommandOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      relay: { type: 'string' },
      pair: { type: 'string' },
      token: { type: 'string' },
      'key-file': { type: 'string' },
      route: { type: 'string' },
      deployment: { type: 'string' },
      'wallet-key-file': { type: 'string' },
      'state-file': { type: 'string' },
      'max-spend-per-request': { type: 'string' },
      'max-deposit': { type: 'string' },
      'max-price-in': { type: 'string' },
      'max-price-out': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  const givenPort = values.port ?? env['MODELEX_GATEWAY_PORT']
  const port = Number(givenPort ?? GATEWAY_DEFAULTS.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new GatewayOptionError({
      option: values.port !== undefined ? '--port' : 'MODELEX_GATEWAY_PORT',
      expected: 'an integer in 0..65535',
      value: givenPort ?? '',
    })
  const options: GatewayCommandOptions = {
    port,
    keyFile: resolve(values['key-file'] ?? env['MODELEX_GATEWAY_KEY_FILE'] ?? resolve(root, '.modelex/gateway.key')),
    deploymentFile: resolve(
      values.deployment ?? env['MODELEX_DEPLOYMENT'] ?? resolve(root, '.modelex/deployment.json'),
    ),
    stateFile: resolve(
      values['state-file'] ?? env['MODELEX_GATEWAY_STATE'] ?? resolve(root, '.modelex/gateway-state.json'),
    ),
  }
  if (values.help) options.help = true
  const route = values.route ?? env['MODELEX_GATEWAY_ROUTE']
  if (route !== undefined) {
    if (route !== 'local' && route !== 'network')
      throw new GatewayOptionError({
        option: values.route !== undefined ? '--route' : 'MODELEX_GATEWAY_ROUTE',
        expected: 'local or network',
        value: route,
      })
    options.route = route
  }
  if (values['wallet-key-file']) options.walletKeyFile = resolve(values['wallet-key-file'])
  const token = values.token ?? env['MODELEX_GATEWAY_TOKEN']
  if (token !== undefined) {
    if (token.length < 16)
      throw new GatewayOptionError({
        option: values.token !== undefined ? '--token' : 'MODELEX_GATEWAY_TOKEN',
        expected: 'at least 16 characters',
      })
    options.token = token
  }
  if (values.relay) options.relay = values.relay
  if (values.pair) {
    const line = parsePairingLine(values.pair)
    if (!line)
      throw new GatewayOptionError({ option: '--pair', expected: 'the line the Code view shows: <peer id>:<token>' })
    options.pair = line
  }
  const limits: Partial<SpendLimits> = {}
  for (const limit of SPEND_LIMITS) {
    const { flag, env: name } = SPEND_LIMIT_OPTIONS[limit]
    const flagged = values[flag]
    const text = flagged ?? env[name]
    if (text !== undefined) limits[limit] = parseAiAmount(text, flagged !== undefined ? `--${flag}` : name)
  }
  if (Object.keys(limits).length > 0) options.limits = limits
  return options
}

/** An amount of AI as written (`0.5`, at most 18 decimals), exactly in wei: refused, never rounded, otherwise. */
function parseAiAmount(text: string, option: string): bigint {
  const amount = text.trim()
  if (!/^(?:\d+(?:\.\d{1,18})?|\.\d{1,18})$/.test(amount))
    throw new GatewayOptionError({
      option,
      expected: 'an amount of AI such as 0.5 (digits, at most 18 decimals, not negative)',
      value: text,
    })
  return parseEther(amount)
}

const DEVNET_WALLET_KEY = 'devnet-wallet-key'

/**
 * The network route's wallet: MODELEX_WALLET_KEY, else the key in --wallet-key-file, else (devnet only) a burner
 * kept in the state file and topped up from an anvil test account. Null when there is none to be had.
 */
export async function gatewayWallet(
  deployment: Deployment,
  store: KeyValueStore,
  { walletKeyFile, env }: { walletKeyFile?: string; env: NodeJS.ProcessEnv },
): Promise<WalletClient | null> {
  const given =
    (env['MODELEX_WALLET_KEY']?.trim() || undefined) ??
    (walletKeyFile ? (await readFile(walletKeyFile, 'utf8')).trim() : undefined)
  let privateKey: Hex
  if (given !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(given))
      throw new Error('The wallet key must be a 0x-prefixed 32-byte hex private key.')
    privateKey = given as Hex
  } else {
    if (deployment.chainId !== DEVNET_CHAIN_ID) return null
    privateKey = await loadOrCreatePrivateKey(store, DEVNET_WALLET_KEY, 'devnet wallet key')
    await fundFromDevnet(deployment, privateKeyToAccount(privateKey).address, { funder: GATEWAY_DEFAULTS.devnetFunder })
  }
  return createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain: deploymentChain(deployment),
    transport: http(deployment.rpcUrl),
    pollingInterval: 250,
  }) as WalletClient
}

async function readDeploymentFile(path: string): Promise<Deployment | null> {
  const text = await readFile(path, 'utf8').catch(() => null)
  return text === null ? null : parseDeployment(JSON.parse(text))
}

function describeLimits(limits: Partial<SpendLimits>): string {
  const given = SPEND_LIMITS.filter((limit) => limits[limit] !== undefined).map(
    (limit) => `--${SPEND_LIMIT_OPTIONS[limit].flag} ${formatEther(limits[limit] as bigint)}`,
  )
  return given.length === 0
    ? "the SDK's default spend limits"
    : `spend limits ${given.join(', ')}${given.length < SPEND_LIMITS.length ? " (others the SDK's defaults)" : ''}`
}

async function main(): Promise<void> {
  let options
  try {
    options = readGatewayOptions(process.argv.slice(2), process.env)
  } catch (error) {
    console.error(
      error instanceof GatewayOptionError
        ? error.message
        : `${(error as Error).message.replace(/\.?$/, '.')} Run \`npm run gateway -- --help\` for the options.`,
    )
    process.exit(2)
  }
  if (options.help) {
    console.log(GATEWAY_USAGE)
    process.exit(0)
  }
  let gateway: Gateway
  try {
    const deployment = await readDeploymentFile(options.deploymentFile)
    if (deployment) {
      const store = jsonFileStore(options.stateFile)
      const wallet = await gatewayWallet(deployment, store, {
        ...(options.walletKeyFile ? { walletKeyFile: options.walletKeyFile } : {}),
        env: process.env,
      })
      if (wallet) options.network = { deployment, wallet, store, ...(options.limits ? { limits: options.limits } : {}) }
      console.log(
        wallet
          ? `Network route: paying from ${wallet.account.address} on chain ${deployment.chainId}; ${describeLimits(options.limits ?? {})}.`
          : 'Network route off: no wallet (set MODELEX_WALLET_KEY or --wallet-key-file).',
      )
    } else
      console.log(
        `Network route off: no deployment at ${options.deploymentFile} (start the local stack, or pass --deployment).`,
      )
    // With the network route the gateway joins every relay of the deployment (startGateway); without it, the first.
    if (!options.network) options.relay ??= deployment?.relay ?? null
    if (!options.relay && !options.network)
      console.error(
        'No relay (no --relay and no deployment): the gateway starts, but cannot reach any node until one is given.',
      )
    gateway = await startGateway({ ...options, log: (line) => console.log(line) })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    console.error(
      code === 'EADDRINUSE'
        ? `Port ${options.port} on 127.0.0.1 is taken: choose another with --port N.`
        : `The gateway did not start: ${(error as Error).message}`,
    )
    process.exit(1)
  }
  // Signals are handled before the ready line: a process manager may stop us as soon as it reads it.
  let stopping = false
  const shutdown = () => {
    if (stopping) return
    stopping = true
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
  console.log(`Modelex gateway on ${gateway.url}/v1 (OpenAI-compatible)`)
  console.log(`API key (bearer token): ${gateway.token}`)
  console.log(
    gateway.paired()
      ? `Paired with ${gateway.paired()?.peer}.`
      : 'No browser node paired yet: open the app\'s Code view, load a coder model, click "Share with my gateway", then restart with --pair <line> or POST the line to /modelex/pair.',
  )
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
