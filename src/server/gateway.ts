/**
 * `npm run gateway`: an OpenAI-compatible HTTP API on 127.0.0.1 that forwards to the user's own browser node over
 * libp2p, so any editor that speaks the OpenAI API (VS Code with Continue, …) completes code with the model in a
 * browser tab. Serves `GET /v1/models`, `POST /v1/completions` (`suffix` = fill-in-the-middle) and
 * `POST /v1/chat/completions`, streamed (SSE) or not; every request needs the bearer token printed at start. The
 * browser node is paired by its peer id and the token its Code view shows (`--pair <peer>:<token>`, or
 * `POST /modelex/pair`). Routing to paid network nodes needs the consumer SDK and answers 501 until it exists.
 *
 * Options: --port (8080; 0 picks one), --relay (default: the local stack's), --pair <peer>:<token>, --token
 * (default: random; or MODELEX_GATEWAY_TOKEN), --key-file (.modelex/gateway.key: the gateway's peer id).
 */
import './node-shims.ts'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { newPairToken, parsePairingLine, tokensEqual, type PairedModel } from '../core/autocomplete-pairing.ts'
import { GatewayAuthError, GatewayError, InvalidGatewayRequestError, ModelNotServedError, NodeNotPairedError, PairingError, RequestTooLargeError, UnknownRouteError, UpstreamNodeError } from '../core/errors/gateway.ts'
import { InferRequestError, InferStreamError } from '../core/errors/p2p.ts'
import { encodeSseDone, encodeSseEvent } from '../core/sse.ts'
import { MAX_REQUEST_BYTES } from '../core/wire/infer.ts'
import { pair } from '../autocomplete/pairing.ts'
import { infer } from '../p2p/infer-client.ts'
import { createModelexNode, type ModelexNode } from '../p2p/node.ts'
import { loadOrCreatePeerKeyFile } from '../store/key-file.ts'
import { completionResponse, errorBody, modelList, parseOpenAiRequest, streamChunk, usageChunk, type OpenAiKind } from './gateway-openai.ts'

const root = resolve(import.meta.dirname, '../..')

export const GATEWAY_DEFAULTS = {
  port: 8080,
  /** A request must fit the infer protocol's request frame. */
  maxBodyBytes: MAX_REQUEST_BYTES,
  /** Requests forwarded at once; more wait in the browser node's own queue, which answers BUSY when full. */
  maxConcurrent: 16,
  bodyTimeoutMs: 10_000,
} as const

export type GatewayOptions = {
  port?: number
  /** Relay multiaddr; without one the gateway runs but cannot pair. */
  relay?: string | null
  /** The bearer token clients must send; random when not given. */
  token?: string
  keyFile?: string
  pair?: { peer: string; token: string }
  maxBodyBytes?: number
  log?: (line: string) => void
}

export type Gateway = {
  readonly url: string
  readonly token: string
  readonly node: ModelexNode | null
  /** The paired browser node and its models, or null. */
  paired(): { peer: string; models: PairedModel[] } | null
  pairWith(peer: string, token: string): Promise<PairedModel[]>
  close(): Promise<void>
}

export async function startGateway({ port = GATEWAY_DEFAULTS.port, relay = null, token = newPairToken(), keyFile, pair: initialPair, maxBodyBytes = GATEWAY_DEFAULTS.maxBodyBytes, log = () => {} }: GatewayOptions = {}): Promise<Gateway> {
  let node: ModelexNode | null = null
  if (relay) {
    node = await createModelexNode({ relays: [relay], runtime: 'node', ...(keyFile ? { privateKey: await loadOrCreatePeerKeyFile(keyFile) } : {}) })
    await node.start()
  }
  let paired: { peer: string; token: string; models: PairedModel[] } | null = null
  let active = 0
  const pairWith = async (peer: string, pairToken: string): Promise<PairedModel[]> => {
    if (!node) throw new PairingError({ peer, reason: 'unreachable', details: 'the gateway has no relay: start it with --relay <multiaddr>, or start the local stack first' })
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
      if (!paired) throw new NodeNotPairedError()
      // Asking again refreshes the list (the tab may have loaded another model) and checks the node is there.
      const models = await pairWith(paired.peer, paired.token).catch((error: unknown) => {
        throw error instanceof PairingError ? new UpstreamNodeError({ peer: paired?.peer ?? '', details: error.message, cause: error, status: 503 }) : error
      })
      return sendJson(res, 200, modelList(models, Math.floor(Date.now() / 1000)))
    }
    if (method === 'POST' && path === '/modelex/pair') {
      const body = await readJson(req, maxBodyBytes)
      const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
      const line = typeof fields['line'] === 'string' ? parsePairingLine(fields['line']) : typeof fields['peer'] === 'string' && typeof fields['token'] === 'string' ? { peer: fields['peer'], token: fields['token'] } : null
      if (!line) throw new InvalidGatewayRequestError('Send {"line": "<peer id>:<token>"} or {"peer": "...", "token": "..."} as shown in the Code view.')
      const models = await pairWith(line.peer, line.token)
      return sendJson(res, 200, { paired: line.peer, models })
    }
    const kind: OpenAiKind | null = method === 'POST' && path === '/v1/completions' ? 'completion' : method === 'POST' && path === '/v1/chat/completions' ? 'chat' : null
    if (!kind) throw new UnknownRouteError({ method, path })
    const parsed = parseOpenAiRequest(kind, await readJson(req, maxBodyBytes))
    if (!paired || !node) throw new NodeNotPairedError()
    const served = paired.models[0]
    if (served && served.id !== parsed.request.model) throw new ModelNotServedError({ requested: parsed.request.model, served: served.id })
    if (active >= GATEWAY_DEFAULTS.maxConcurrent) throw new UpstreamNodeError({ peer: paired.peer, details: `more than ${GATEWAY_DEFAULTS.maxConcurrent} requests at once`, status: 429 })
    active++
    try {
      await forward(node, paired.peer, kind, parsed, res)
    } finally {
      active--
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, error, paired?.peer ?? ''))
  })
  server.requestTimeout = 0
  server.headersTimeout = GATEWAY_DEFAULTS.bodyTimeoutMs
  await new Promise<void>((resolveListen, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolveListen()))
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`
  if (initialPair) await pairWith(initialPair.peer, initialPair.token)
  return {
    url,
    token,
    node,
    paired: () => (paired ? { peer: paired.peer, models: paired.models } : null),
    pairWith,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
      await node?.stop()
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

async function forward(node: ModelexNode, peer: string, kind: OpenAiKind, { request, stream, includeUsage }: ReturnType<typeof parseOpenAiRequest>, res: ServerResponse): Promise<void> {
  const cancel = new AbortController()
  // The client hung up: closing the infer stream cancels the generation in the browser.
  const onClose = () => {
    if (!res.writableEnded) cancel.abort()
  }
  res.on('close', onClose)
  const ids = { id: `${kind === 'completion' ? 'cmpl' : 'chatcmpl'}-${newPairToken().slice(0, 24)}`, created: Math.floor(Date.now() / 1000), model: request.model }
  const call = infer(node, { peer, request, payment: null, signal: cancel.signal })
  let text = ''
  let started = false
  try {
    for await (const delta of call) {
      if (!stream) {
        text += delta.text
        continue
      }
      if (!started) {
        started = true
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' })
      }
      res.write(encodeSseEvent(streamChunk(kind, ids, delta.text, null, text === '')))
      text += delta.text
    }
    const outcome = await call.result
    if (!stream) return sendJson(res, 200, completionResponse(kind, ids, text, outcome.finish_reason, outcome.usage))
    if (!started) res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' })
    res.write(encodeSseEvent(streamChunk(kind, ids, '', outcome.finish_reason)))
    if (includeUsage) res.write(encodeSseEvent(usageChunk(kind, ids, outcome.usage)))
    res.end(encodeSseDone())
  } catch (error) {
    if (cancel.signal.aborted) return
    const mapped = upstreamError(error, peer)
    if (!started) throw mapped
    // Headers are gone: report in the stream, as OpenAI does, and end it.
    res.end(encodeSseEvent(errorBody(mapped)))
  } finally {
    res.off('close', onClose)
  }
}

function upstreamError(error: unknown, peer: string): GatewayError {
  if (error instanceof GatewayError) return error
  if (error instanceof InferRequestError) {
    if (error.code === 'PAYMENT_REQUIRED') return new NodeNotPairedError(`${peer} no longer knows this gateway (the tab was reloaded?): ${error.details ?? ''}`)
    const status = { BAD_REQUEST: 400, UNSUPPORTED_MODEL: 404, BUSY: 429, TIMEOUT: 504, INTERNAL: 502 }[error.code]
    return new UpstreamNodeError({ peer, details: `${error.code}: ${error.details ?? error.message}`, cause: error, status })
  }
  if (error instanceof InferStreamError) return new UpstreamNodeError({ peer, details: error.message, cause: error, status: 502 })
  return new UpstreamNodeError({ peer, details: error instanceof Error ? error.message : String(error), cause: error, status: 500 })
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers })
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

export function readGatewayOptions(argv: readonly string[], env: NodeJS.ProcessEnv): GatewayOptions & { port: number } {
  const { values } = parseArgs({ args: [...argv], options: { port: { type: 'string' }, relay: { type: 'string' }, pair: { type: 'string' }, token: { type: 'string' }, 'key-file': { type: 'string' } }, strict: true })
  const port = Number(values.port ?? env['MODELEX_GATEWAY_PORT'] ?? GATEWAY_DEFAULTS.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer in 0..65535, got ${values.port}.`)
  const options: GatewayOptions & { port: number } = { port, keyFile: resolve(values['key-file'] ?? env['MODELEX_GATEWAY_KEY_FILE'] ?? resolve(root, '.modelex/gateway.key')) }
  const token = values.token ?? env['MODELEX_GATEWAY_TOKEN']
  if (token !== undefined) {
    if (token.length < 16) throw new Error('--token must be at least 16 characters.')
    options.token = token
  }
  if (values.relay) options.relay = values.relay
  if (values.pair) {
    const line = parsePairingLine(values.pair)
    if (!line) throw new Error('--pair takes the line the Code view shows: <peer id>:<token>.')
    options.pair = line
  }
  return options
}

async function localRelay(): Promise<string | null> {
  const text = await readFile(resolve(root, '.modelex/deployment.json'), 'utf8').catch(() => null)
  return text ? ((JSON.parse(text) as { relay?: string | null }).relay ?? null) : null
}

async function main(): Promise<void> {
  let options
  try {
    options = readGatewayOptions(process.argv.slice(2), process.env)
  } catch (error) {
    console.error((error as Error).message)
    process.exit(2)
  }
  options.relay ??= await localRelay()
  if (!options.relay) console.error('No relay (no --relay and no local stack): the gateway starts, but cannot pair until one is given.')
  let gateway: Gateway
  try {
    gateway = await startGateway({ ...options, log: (line) => console.log(line) })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    console.error(code === 'EADDRINUSE' ? `Port ${options.port} on 127.0.0.1 is taken: choose another with --port N.` : `The gateway did not start: ${(error as Error).message}`)
    process.exit(1)
  }
  console.log(`Modelex gateway on ${gateway.url}/v1 (OpenAI-compatible)`)
  console.log(`API key (bearer token): ${gateway.token}`)
  console.log(gateway.paired() ? `Paired with ${gateway.paired()?.peer}.` : 'No browser node paired yet: open the app\'s Code view, load a coder model, click "Share with my gateway", then restart with --pair <line> or POST the line to /modelex/pair.')
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
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
