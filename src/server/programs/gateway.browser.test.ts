/**
 * The gateway against a real browser node: a headless Chromium page runs the WebAssembly engine on the generated
 * tiny model with the infer protocol server and the pairing service, connected through a real relay (a child
 * process, stopped by its PID); the gateway pairs with it by peer id and token, and the official `openai` client
 * talks to the gateway — streamed and not, completion (with suffix: fill-in-the-middle) and chat — plus the error
 * answers: bad token 401, no node paired 503, oversize body 413, paid routing 501.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { SerializedError } from '../../core/errors/index.ts'
import { launchChromium } from '../lib/chromium.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'
import { openFixture } from '../testing/fixture-page.ts'
import type { WatchedPage } from '../testing/browser.ts'
import { startGateway, type Gateway } from './gateway.ts'
import { loadProblems } from '../evals/fim.ts'
import { gatewayTarget, peerTarget } from '../evals/targets.ts'

const MODEL = 'modelex-demo-tiny'
let dir: string
let relay: RelayProcess
let browser: Browser
let node: WatchedPage
let gateway: Gateway
let unpaired: Gateway
let client: OpenAI
let pairing: { peer: string; token: string }

async function call<T>(method: string, ...args: unknown[]): Promise<T> {
  const result = (await node.page.evaluate(
    ([m, a]) =>
      (window as unknown as { fixture: Record<string, (...x: unknown[]) => unknown> }).fixture[m as string]!(
        ...(a as unknown[]),
      ),
    [method, args] as const,
  )) as { ok: true; value: T } | { ok: false; error: SerializedError }
  if (!result.ok) throw new Error(`${result.error.name}: ${result.error.message}`)
  return result.value
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-gateway-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  browser = await launchChromium()
  node = await openFixture(browser, 'src/autocomplete/fixtures/coder-node.html')
  await call('load', MODEL)
  const shared = await call<{ peer: string; token: string }>('share', relay.multiaddr)
  pairing = shared
  gateway = await startGateway({ port: 0, relay: relay.multiaddr, keyFile: join(dir, 'gateway.key'), pair: shared })
  unpaired = await startGateway({ port: 0, relay: relay.multiaddr })
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0, timeout: 60_000 })
}, 180_000)

afterAll(async () => {
  await gateway?.close()
  await unpaired?.close()
  if (node) await call('stop').catch(() => {})
  await browser?.close()
  await relay?.process.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const fim = {
  model: MODEL,
  prompt: 'def add(a, b):\n    ',
  suffix: '\n\nprint(add(1, 2))\n',
  max_tokens: 12,
  temperature: 0,
  seed: 0,
}

test('GET /v1/models lists the model loaded in the browser tab', async () => {
  const models = await client.models.list()
  expect(models.data.map((m) => m.id)).toEqual([MODEL])
  expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
})

test('a fill-in-the-middle completion, not streamed and streamed, gives the same greedy text', async () => {
  const whole = await client.completions.create(fim)
  expect(whole.object).toBe('text_completion')
  expect(whole.choices[0]?.text.length).toBeGreaterThan(0)
  expect(whole.choices[0]?.finish_reason).toBe('length')
  expect(whole.usage).toMatchObject({ completion_tokens: 12 })
  const stream = await client.completions.create({ ...fim, stream: true, stream_options: { include_usage: true } })
  let text = ''
  let chunks = 0
  let usage: OpenAI.CompletionUsage | undefined
  for await (const chunk of stream) {
    chunks++
    text += chunk.choices[0]?.text ?? ''
    if (chunk.usage) usage = chunk.usage
  }
  expect(text).toBe(whole.choices[0]?.text)
  expect(chunks).toBeGreaterThan(2)
  expect(usage?.completion_tokens).toBe(12)
})

test('chat completions, not streamed and streamed', async () => {
  const request = {
    model: MODEL,
    messages: [{ role: 'user' as const, content: 'Write a function that adds two numbers.' }],
    max_tokens: 10,
    temperature: 0,
    seed: 0,
  }
  const whole = await client.chat.completions.create(request)
  expect(whole.object).toBe('chat.completion')
  expect(whole.choices[0]?.message.role).toBe('assistant')
  const content = whole.choices[0]?.message.content ?? ''
  expect(content.length).toBeGreaterThan(0)
  let text = ''
  for await (const chunk of await client.chat.completions.create({ ...request, stream: true }))
    text += chunk.choices[0]?.delta.content ?? ''
  expect(text).toBe(content)
})

test('a wrong bearer token is 401', async () => {
  const wrong = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'not-the-token', maxRetries: 0 })
  await expect(wrong.models.list()).rejects.toMatchObject({ status: 401 })
  await expect(wrong.completions.create(fim)).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
})

test('with no node paired, 503 says how to pair', async () => {
  const lonely = new OpenAI({ baseURL: `${unpaired.url}/v1`, apiKey: unpaired.token, maxRetries: 0 })
  const error = (await lonely.completions.create(fim).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
  expect(error.status).toBe(503)
  expect(error.message).toMatch(/Code view.*--pair/s)
  await expect(lonely.models.list()).rejects.toMatchObject({ status: 503 })
})

test('an oversize body is 413; the paid network route without a wallet is 503 and says how to give one; unknown routes 404', async () => {
  await expect(client.completions.create({ ...fim, prompt: 'x'.repeat(300 * 1024) })).rejects.toMatchObject({
    status: 413,
  })
  const paid = await fetch(`${gateway.url}/v1/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}` },
    body: JSON.stringify({ ...fim, modelex_route: 'network' }),
  })
  expect(paid.status).toBe(503)
  const refusal = ((await paid.json()) as { error: { code: string; message: string } }).error
  expect(refusal.code).toBe('NetworkRouteUnavailableError')
  expect(refusal.message).toMatch(/MODELEX_WALLET_KEY/)
  const missing = await fetch(`${gateway.url}/v1/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}` },
    body: '{}',
  })
  expect(missing.status).toBe(404)
  // The gateway still serves after all that.
  expect((await client.completions.create({ ...fim, max_tokens: 2 })).usage?.completion_tokens).toBe(2)
  expect(node.errors).toEqual([])
})

test('the evaluation harness reaches the same node as a gateway URL and as a peer id with its token', async () => {
  const [problem] = await loadProblems('single-line', { limit: 1 })
  const viaGateway = await gatewayTarget({ url: gateway.url, apiKey: gateway.token })
  const viaPeer = await peerTarget({ peer: pairing.peer, token: pairing.token, relay: relay.multiaddr })
  try {
    expect([viaGateway.model, viaPeer.model]).toEqual([MODEL, MODEL])
    const a = await viaGateway.complete(problem!, 'single-line')
    const b = await viaPeer.complete(problem!, 'single-line')
    expect(a.output.length).toBeGreaterThan(0)
    expect(a.totalMs).toBeGreaterThan(0)
    // Greedy and seeded: both paths give the same text up to where the harness stopped reading.
    const common = Math.min(a.output.length, b.output.length)
    expect(a.output.slice(0, common)).toBe(b.output.slice(0, common))
  } finally {
    await viaPeer.close()
    await viaGateway.close()
  }
})

test('the tab reloads, keeping its peer key and token: the gateway pairs again by itself; a new token locks it out', async () => {
  await call('stop')
  const again = await call<{ peer: string; token: string }>('share', relay.multiaddr, { token: pairing.token })
  expect(again.peer).toBe(pairing.peer)
  // The reloaded node no longer knows the gateway; the gateway pairs again with the line it has and answers.
  expect((await client.completions.create({ ...fim, max_tokens: 2 })).usage?.completion_tokens).toBe(2)
  await call('newToken')
  const refused = (await client.completions.create({ ...fim, max_tokens: 2 }).catch((e: unknown) => e)) as InstanceType<
    typeof OpenAI.APIError
  >
  expect(refused.status).toBe(401)
  expect(refused.message).toMatch(/refused the pairing token/)
  expect(node.errors).toEqual([])
})
