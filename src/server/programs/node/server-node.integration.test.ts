/**
 * The server node as an operator runs it: `src/server/programs/node/main.ts` as a child process (stopped by its PID)
 * on the integration suite's anvil and a real relay, with the in-memory engine (the native engine has its own
 * compliance suite; this is about the node around it). It registers and announces; the SDK pays it for three
 * requests; it anchors and redeems (over its console); `/metrics` and GraphQL then show exactly those requests and
 * refuse a caller without the token; the console drains it; and after a restart on the same state directory a
 * SIGTERM mid-stream leaves the consumer its partial answer and its credit. Restarted with `--webrtc`, it serves a
 * consumer over WebRTC from its second request on, and still exits cleanly.
 */
import '../../lib/node-shims.ts'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, formatEther, http, parseEther, type Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { readContract } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DEVNET_PARAMETERS } from '../../../chain/constants.ts'
import { aiTokenAbi } from '../../../chain/generated.ts'
import { createClient, type ModelexClient, type PaidResult } from '../../../client/index.ts'
import { toPeerId, upgradeToDirect } from '../../../p2p/dial.ts'
import { createModelexNode, isRelayed, type ModelexNode } from '../../../p2p/node.ts'
import { PaidRequestInterruptedError } from '../../../core/errors/payments.ts'
import { fundAccount, TEST_PRICES } from '../../../node/testing.ts'
import { freePort } from '../../lib/ports.ts'
import { startProcess, type ManagedProcess } from '../../lib/process.ts'
import { startRelayProcess, type RelayProcess } from '../../lib/relay-process.ts'
import { DEMO_MODELS } from '../../../core/models.ts'
import { DEMO_TINY, generateDemoModel } from '../../../engine/demo-model/generate.ts'
import { memoryStore } from '../../../store/payments.ts'
import { memoryContentHash, stateFiles } from './server-node.ts'

const root = join(import.meta.dirname, '../../../..')
const deployment = inject('deployment')
const transport = http(deployment.rpcUrl)
const publicClient = createPublicClient({ transport, pollingInterval: 50 })
const MODEL = { id: 'memory-server-node', contentHash: memoryContentHash('memory-server-node') }
// 0.001 and 0.003 AI per million tokens: TEST_PRICES, as the command line writes them.
const PRICE_ARGS = [
  '--price-in',
  formatEther(TEST_PRICES.pricePerMillionInput),
  '--price-out',
  formatEther(TEST_PRICES.pricePerMillionOutput),
]

let dir: string
let relay: RelayProcess
let deploymentFile: string
let keyFile: string
let operator: Address
const stops: (() => Promise<void>)[] = []

type NodeProcess = { process: ManagedProcess; peerId: string; opsUrl: string; token: string }

async function startNode(extra: readonly string[]): Promise<NodeProcess> {
  const args = [
    '--import',
    'tsx',
    join(root, 'src/server/programs/node/main.ts'),
    '--engine',
    'memory',
    '--model',
    MODEL.id,
    ...PRICE_ARGS,
    '--deployment',
    deploymentFile,
    '--key-file',
    keyFile,
    '--state-dir',
    join(dir, 'state'),
    '--ops-port',
    '0',
    '--announce-interval-ms',
    '1000',
    ...extra,
  ]
  const child = startProcess('server-node', process.execPath, args, { cwd: root })
  stops.push(() => child.stop())
  const [, peerId] = await child.waitForLine(/^Serving \S+ as (\S+) /, 90_000)
  const [, opsUrl] = await child.waitForLine(/^Operations: (http:\/\/127\.0\.0\.1:\d+)\/metrics/, 5_000)
  const token = (await readFile(stateFiles(join(dir, 'state')).opsToken, 'utf8')).trim()
  return { process: child, peerId: peerId as string, opsUrl: opsUrl as string, token }
}

function runConsole(command: string): Promise<{ code: number | null; output: string }> {
  const child = startProcess(
    'node-console',
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src/server/programs/node/main.ts'),
      'console',
      command,
      '--state-dir',
      join(dir, 'state'),
    ],
    { cwd: root },
  )
  stops.push(() => child.stop())
  return child.exited.then((code) => ({ code, output: child.output() }))
}

async function graphql(
  node: NodeProcess,
  query: string,
  variables: Record<string, unknown> = {},
  token: string | null = node.token,
): Promise<{ status: number; body: { data?: Record<string, never>; errors?: { message: string }[] } }> {
  const res = await fetch(`${node.opsUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  return { status: res.status, body: (await res.json()) as never }
}

async function metrics(node: NodeProcess): Promise<Map<string, number>> {
  const res = await fetch(`${node.opsUrl}/metrics`, { headers: { authorization: `Bearer ${node.token}` } })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4')
  const samples = new Map<string, number>()
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

async function startConsumer(
  models: { id: string; contentHash: `0x${string}` }[] = [MODEL],
  node?: ModelexNode,
): Promise<ModelexClient> {
  const account = privateKeyToAccount(generatePrivateKey())
  await fundAccount(deployment, account.address, parseEther('100'))
  const wallet = createWalletClient({ account, transport, pollingInterval: 50 })
  const client = createClient({
    deployment,
    wallet: wallet as never,
    store: memoryStore(),
    relay: relay.multiaddr,
    models,
    channelDeposit: parseEther('1'),
    ...(node ? { node } : {}),
  })
  stops.push(() => client.stop())
  return client
}

const balanceOf = (address: Address) =>
  readContract(publicClient, {
    address: deployment.contracts.AIToken as Address,
    abi: aiTokenAbi,
    functionName: 'balanceOf',
    args: [address],
  })

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mx-node-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  deploymentFile = join(dir, 'deployment.json')
  await writeFile(deploymentFile, JSON.stringify({ ...deployment, relay: relay.multiaddr }))
  // The operator's wallet, funded with the minimum stake, in a key file of its own (0600).
  const key = generatePrivateKey()
  operator = privateKeyToAccount(key).address
  keyFile = join(dir, 'operator.key')
  await writeFile(keyFile, `${key}\n`, { mode: 0o600 })
  await fundAccount(deployment, operator, DEVNET_PARAMETERS.minStake)
})

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('server node (integration)', () => {
  let results: PaidResult[] = []

  it('registers, serves paid requests from the SDK, anchors and redeems; /metrics and GraphQL show exactly them; the console drains it', async () => {
    const node = await startNode(['--batch', '3'])
    const client = await startConsumer()
    const nodes = await client.nodes({ model: MODEL.id })
    expect(nodes.map((n) => n.peerId)).toContain(node.peerId)

    // Without the token nothing is told.
    expect((await fetch(`${node.opsUrl}/metrics`)).status).toBe(401)
    expect(
      (
        await fetch(`${node.opsUrl}/metrics`, {
          headers: { authorization: 'Bearer wrong-token-wrong-token-wrong-token' },
        })
      ).status,
    ).toBe(401)
    expect((await graphql(node, '{ status { peerId } }', {}, null)).status).toBe(401)

    const from = Date.now()
    const stream = await client.chat.completions.create({
      model: MODEL.id,
      messages: [{ role: 'user', content: 'first prompt' }],
      max_tokens: 12,
      stream: true,
      node: node.peerId,
    })
    for await (const _ of stream) void _
    results = [await stream.result]
    results.push(
      (
        await client.chat.completions.create({
          model: MODEL.id,
          messages: [{ role: 'user', content: 'second prompt, longer' }],
          max_tokens: 8,
          node: node.peerId,
        })
      ).modelex,
    )
    results.push(
      (await client.completions.create({ model: MODEL.id, prompt: 'third', max_tokens: 5, node: node.peerId })).modelex,
    )
    const total = results.reduce((sum, r) => sum + r.cost, 0n)
    const tokensIn = results.reduce((n, r) => n + Number(r.receipt.receipt.promptTokens), 0)
    const tokensOut = results.reduce((n, r) => n + Number(r.receipt.receipt.completionTokens), 0)

    // Three receipts make a batch (--batch 3): the node anchors it by itself.
    const status = async () =>
      (
        await graphql(
          node,
          '{ status { peerId operator model { id contentHash } batchesAnchored receiptsPending draining queued active } }',
        )
      ).body.data?.status as unknown as Record<string, unknown>
    for (let i = 0; i < 400 && (await status())['batchesAnchored'] !== 1; i++)
      await new Promise((r) => setTimeout(r, 50))
    expect(await status()).toMatchObject({
      peerId: node.peerId,
      operator,
      model: { id: MODEL.id, contentHash: MODEL.contentHash },
      batchesAnchored: 1,
      receiptsPending: 0,
      draining: false,
      queued: 0,
      active: 0,
    })
    for (const r of results) expect(await client.verify(r)).toMatchObject({ anchored: true, verified: true })

    const m = await metrics(node)
    expect(m.get('modelex_node_paid_requests_total')).toBe(3)
    expect(m.get('modelex_node_requests_total{outcome="served",code=""}')).toBe(3)
    expect(m.get('modelex_node_tokens_in_total')).toBe(tokensIn)
    expect(m.get('modelex_node_tokens_out_total')).toBe(tokensOut)
    expect(m.get('modelex_node_earned_ai_total')).toBeCloseTo(Number(formatEther(total)), 12)
    expect(m.get('modelex_node_batches_anchored')).toBe(1)
    expect(m.get('modelex_node_receipts_pending')).toBe(0)
    expect(m.get('modelex_node_anchoring_lag_seconds')).toBe(0)
    expect(m.get('modelex_node_queue_depth')).toBe(0)
    expect(m.get('modelex_node_request_duration_seconds_count{kind="chat"}')).toBe(2)
    expect(m.get('modelex_node_request_duration_seconds_count{kind="completion"}')).toBe(1)
    expect(m.get('modelex_node_peers')).toBeGreaterThan(0)

    const to = Date.now() + 1
    const { body } = await graphql(
      node,
      `
        query ($from: Float!, $to: Float!) {
          earnings(from: $from, to: $to) {
            earned
            requests
            tokensIn
            tokensOut
            settled
          }
          before: earnings(from: 0, to: $from) {
            earned
            requests
          }
          jobs(limit: 10) {
            receiptsSigned
            requests {
              served
            }
            recent {
              kind
              tokensIn
              tokensOut
              earnings
            }
          }
          history(from: $from, to: $to, bucket: HOUR) {
            requests
            tokensOut
            earnings
            uptime
          }
        }
      `,
      { from, to },
    )
    expect(body.errors).toBeUndefined()
    const data = body.data as unknown as {
      earnings: Record<string, unknown>
      before: Record<string, unknown>
      jobs: { receiptsSigned: number; requests: { served: number }; recent: { kind: string; earnings: string }[] }
      history: { requests: number; tokensOut: number; earnings: string; uptime: number }[]
    }
    expect(data.earnings).toEqual({
      earned: total.toString(),
      requests: 3,
      tokensIn,
      tokensOut,
      settled: total.toString(),
    })
    expect(data.before).toEqual({ earned: '0', requests: 0 })
    expect(data.jobs).toMatchObject({ receiptsSigned: 3, requests: { served: 3 } })
    expect(data.jobs.recent.map((r) => [r.kind, r.earnings])).toEqual(
      results.map((r, i) => [i === 2 ? 'completion' : 'chat', r.cost.toString()]).reverse(),
    )
    expect(data.history.reduce((n, b) => n + b.requests, 0)).toBe(3)
    expect(data.history.reduce((n, b) => n + BigInt(b.earnings), 0n)).toBe(total)
    expect(data.history.at(-1)?.uptime).toBeGreaterThan(0)
    // A bad range is a GraphQL error, not a crash.
    expect((await graphql(node, '{ history(from: 10, to: 5) { start } }')).body.errors?.[0]?.message).toMatch(
      /time range/,
    )

    // Redeem over the console: the operator is paid exactly what the node held.
    const operatorBefore = await balanceOf(operator)
    const redeemed = await runConsole('redeem')
    expect(redeemed.code).toBe(0)
    const paid = BigInt((JSON.parse(redeemed.output) as { redeemed: string }).redeemed)
    expect(paid).toBe(total + (results.at(-1)?.credit ?? 0n))
    expect((await balanceOf(operator)) - operatorBefore).toBe(paid)
    const after = await metrics(node)
    expect(after.get('modelex_node_earnings_ai{state="redeemed"}')).toBeCloseTo(Number(formatEther(paid)), 12)

    // Keys, token, books and the console socket are the owner's only.
    const files = stateFiles(join(dir, 'state'))
    for (const path of [
      files.signerKey,
      files.peerKey,
      files.opsToken,
      files.books,
      files.history,
      files.consoleSocket,
    ])
      expect((await stat(path)).mode & 0o077).toBe(0)
    // A second node on the same state directory is refused while this one runs.
    const second = startProcess(
      'server-node-2',
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'src/server/programs/node/main.ts'),
        '--engine',
        'memory',
        '--model',
        MODEL.id,
        ...PRICE_ARGS,
        '--deployment',
        deploymentFile,
        '--key-file',
        keyFile,
        '--state-dir',
        join(dir, 'state'),
        '--ops-port',
        '0',
      ],
      { cwd: root },
    )
    stops.push(() => second.stop())
    expect(await second.exited).toBe(1)
    expect(second.output()).toMatch(/another node is running on this state directory/)

    const drained = await runConsole('drain')
    expect(drained.code).toBe(0)
    expect(JSON.parse(drained.output)).toMatchObject({ cancelled: 0, receiptsPending: 0, anchorError: null })
    expect(await node.process.exited).toBe(0)
    await expect(stat(files.consoleSocket)).rejects.toMatchObject({ code: 'ENOENT' })
    expect((await runConsole('status')).output).toMatch(/No server node answers/)
  }, 240_000)

  it('keeps its books across a restart; a SIGTERM mid-stream leaves the consumer its partial answer and credit, and anchors the cut receipt', async () => {
    const node = await startNode(['--batch', '10', '--token-delay-ms', '100', '--drain-ms', '300'])
    expect(node.process.output()).toMatch(/Already registered/)
    const { body } = await graphql(node, '{ jobs { receiptsSigned } status { batchesAnchored } }')
    expect(body.data).toEqual({ jobs: { receiptsSigned: 3 }, status: { batchesAnchored: 1 } })

    const client = await startConsumer()
    const stream = await client.chat.completions.create({
      model: MODEL.id,
      messages: [{ role: 'user', content: 'a long answer please' }],
      max_tokens: 200,
      stream: true,
      node: node.peerId,
    })
    let text = ''
    let error: unknown
    let signalled = false
    try {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ''
        // Signal only the node's PID, once, as a process manager does.
        if (text.length > 10 && !signalled) {
          signalled = true
          process.kill(node.process.pid, 'SIGTERM')
        }
      }
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(PaidRequestInterruptedError)
    const interrupted = error as PaidRequestInterruptedError
    expect(interrupted.text).toBe(text)
    expect(interrupted.text.length).toBeGreaterThan(0)
    expect(interrupted.credit > 0n).toBe(true)
    expect(await node.process.exited).toBe(0)
    // The request was cancelled at the drain's bound, billed for what it sent, and that receipt anchored on the way out.
    expect(node.process.output()).toMatch(/Drained: 0 finished, 1 cancelled, 1 batch\(es\) anchored\./)
  }, 240_000)

  it('serves a GGUF file on the native engine (llama.cpp), with an operator key it made and funded on the devnet', async () => {
    const modelFile = join(dir, `${DEMO_TINY.name}.gguf`)
    await writeFile(modelFile, generateDemoModel(DEMO_TINY))
    const record = DEMO_MODELS.find((m) => m.id === DEMO_TINY.name)
    const stateDir = join(dir, 'native-state')
    const args = [
      '--import',
      'tsx',
      join(root, 'src/server/programs/node/main.ts'),
      '--model',
      modelFile,
      '--threads',
      '1',
      ...PRICE_ARGS,
      '--deployment',
      deploymentFile,
      '--state-dir',
      stateDir,
      '--ops-port',
      '0',
      '--announce-interval-ms',
      '1000',
    ]
    const child = startProcess('server-node-native', process.execPath, args, { cwd: root })
    stops.push(() => child.stop())
    const [, peerId] = await child.waitForLine(/^Serving \S+ as (\S+) /, 120_000)
    expect(child.output()).toContain(`(native, content hash ${record?.contentHash})`)
    expect((await stat(stateFiles(stateDir).operatorKey)).mode & 0o777).toBe(0o600)
    const client = await startConsumer([{ id: DEMO_TINY.name, contentHash: record?.contentHash as `0x${string}` }])
    const answer = await client.chat.completions.create({
      model: DEMO_TINY.name,
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 8,
      temperature: 0,
      seed: 1,
      node: peerId as string,
    })
    expect(answer.modelex.receipt.receipt.completionTokens).toBeGreaterThan(0n)
    expect(answer.modelex.receipt.receipt.deterministic).toBe(true)
    process.kill(child.pid, 'SIGTERM')
    expect(await child.exited).toBe(0)
    expect(child.output()).toMatch(/Drained: 0 finished, 0 cancelled, 1 batch\(es\) anchored\./)
  }, 240_000)

  it('with --webrtc, a consumer with WebRTC is served over WebRTC from its second request on, and the node still exits 0', async () => {
    // The operator restarts its node with WebRTC, on the one interface a test may use.
    const node = await startNode(['--webrtc', '--webrtc-address', '127.0.0.1'])
    // The consumer's node as the SDK makes it (WebRTC, dial only), its ICE on loopback too.
    const p2p = await createModelexNode({
      relays: [relay.multiaddr],
      runtime: 'node',
      webrtc: true,
      iceBindAddress: '127.0.0.1',
      listen: ['/p2p-circuit'],
    })
    await p2p.start()
    stops.push(() => p2p.stop())
    const client = await startConsumer([MODEL], p2p)
    const ask = async (content: string) =>
      (
        await client.chat.completions.create({
          model: MODEL.id,
          messages: [{ role: 'user', content }],
          max_tokens: 4,
          node: node.peerId,
        })
      ).modelex
    const first = await ask('through the relay')
    expect(first.receipt.receipt.completionTokens).toBe(4n)
    const peer = toPeerId(node.peerId)
    const direct = await upgradeToDirect(p2p, peer)
    expect(direct?.remoteAddr.toString()).toContain('/p2p-circuit/webrtc/')
    // Only the WebRTC connection is left: the next paid request has no relayed one to use.
    for (const connection of p2p.libp2p.getConnections(peer)) if (isRelayed(connection)) await connection.close()
    const second = await ask('over WebRTC')
    expect(second.receipt.receipt.completionTokens).toBe(4n)
    expect(
      p2p.libp2p
        .getConnections(peer)
        .filter((c) => c.status === 'open')
        .map((c) => isRelayed(c)),
    ).toEqual([false])
    await client.stop()
    process.kill(node.process.pid, 'SIGTERM')
    expect(await node.process.exited).toBe(0)
  }, 240_000)
})
