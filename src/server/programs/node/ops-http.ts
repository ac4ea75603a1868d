/**
 * The operations endpoints of the server node on 127.0.0.1 only: `GET /metrics` (Prometheus text format) and
 * `POST /graphql` (or `GET /graphql?query=…`). Both need the bearer token kept in the state directory
 * (`ops.token`, mode 0600): a metrics scraper or dashboard on the same machine reads it from there.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { GraphQLSchema } from 'graphql'
import { tokensEqual } from '../../../core/autocomplete-pairing.ts'
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE, type MetricFamily } from '../../../core/metrics.ts'
import { runNodeQuery, type NodeGraphSource } from './graphql.ts'

/** A GraphQL request body larger than this is refused (413). */
export const MAX_GRAPHQL_BYTES = 64 * 1024

export type OpsServer = { readonly url: string; close(): Promise<void> }

export type OpsServerParameters = {
  port: number
  token: string
  metrics: () => MetricFamily[]
  schema: GraphQLSchema
  graph: NodeGraphSource
}

export async function startOpsServer({ port, token, metrics, schema, graph }: OpsServerParameters): Promise<OpsServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (!authorized(req, token))
      return send(
        res,
        401,
        'application/json',
        JSON.stringify({
          error: 'Missing or wrong bearer token: send Authorization: Bearer <the token in <state-dir>/ops.token>.',
        }),
        { 'www-authenticate': 'Bearer' },
      )
    if (url.pathname === '/metrics' && req.method === 'GET')
      return send(res, 200, PROMETHEUS_CONTENT_TYPE, formatPrometheus(metrics()))
    if (url.pathname === '/graphql' && (req.method === 'POST' || req.method === 'GET')) {
      let body: { query?: unknown; variables?: unknown; operationName?: unknown }
      if (req.method === 'GET')
        body = {
          query: url.searchParams.get('query'),
          variables: parseJson(url.searchParams.get('variables')),
          operationName: url.searchParams.get('operationName'),
        }
      else {
        const text = await readBody(req, MAX_GRAPHQL_BYTES)
        if (text === null)
          return send(
            res,
            413,
            'application/json',
            JSON.stringify({ errors: [{ message: `The request is larger than ${MAX_GRAPHQL_BYTES} bytes.` }] }),
            { connection: 'close' },
          )
        const parsed = parseJson(text)
        if (typeof parsed !== 'object' || parsed === null)
          return send(
            res,
            400,
            'application/json',
            JSON.stringify({ errors: [{ message: 'Send a JSON body {"query": "…", "variables": {…}}.' }] }),
          )
        body = parsed as typeof body
      }
      if (typeof body.query !== 'string')
        return send(
          res,
          400,
          'application/json',
          JSON.stringify({ errors: [{ message: 'The request has no query.' }] }),
        )
      const variables =
        typeof body.variables === 'object' && body.variables !== null && !Array.isArray(body.variables)
          ? (body.variables as Record<string, unknown>)
          : null
      const result = await runNodeQuery(schema, graph, {
        query: body.query,
        variables,
        operationName: typeof body.operationName === 'string' ? body.operationName : null,
      })
      return send(res, 200, 'application/json', JSON.stringify(result))
    }
    return send(res, 404, 'application/json', JSON.stringify({ error: 'Not found: GET /metrics, POST /graphql.' }))
  }
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) =>
      send(res, 500, 'application/json', JSON.stringify({ error: (error as Error).message.split('\n')[0] })),
    )
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()))
  const address = server.address()
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
    },
  }
}

function authorized(req: IncomingMessage, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  return match !== null && tokensEqual(match[1] as string, token)
}

function parseJson(text: string | null): unknown {
  if (text === null) return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** The body as text, or null when it is larger than `limit`. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return null
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) return null
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end()
    return
  }
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...headers })
  res.end(body)
}
