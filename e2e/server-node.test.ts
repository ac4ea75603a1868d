/**
 * A server node serves a browser consumer on the local stack. `npm run node`'s program (`main.ts`) runs as a child
 * process (stopped by its PID) on the devnet's deployment, with the native engine (llama.cpp, one thread) on the
 * generated 30M demo GGUF; it makes and funds its operator key, registers and announces. A fresh Chromium page opens
 * the app's Chat view as a consumer, connects a burner wallet, finds the server node in the node picker and picks it
 * by its peer id, and sends a paid prompt: the answer streams in, and the receipt the page kept verifies against the
 * signer the server node reports (and covers the text shown). The node's console anchors the batch, which the page
 * then checks on-chain; the console's `redeem` pays the operator what the node held for the receipt, as the chain
 * shows. SIGTERM to the node's PID then drains it and it exits 0. Real stack, real browser, real chain: no doubles.
 */
import '../src/server/lib/node-shims.ts'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createPublicClient, http, type Address } from 'viem'
import { readContract } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { getChannel } from '../src/chain/actions/getChannel.ts'
import { aiTokenAbi } from '../src/chain/generated.ts'
import type { ConsumerState } from '../src/client/context.ts'
import { DEMO_MODELS } from '../src/core/models.ts'
import { decodeSignedReceipt, verifySignedReceipt } from '../src/core/payment.ts'
import { launchChromium } from '../src/server/lib/chromium.ts'
import { startProcess, type ManagedProcess } from '../src/server/lib/process.ts'
import { ensureDemoModels } from '../src/server/programs/model-demo.ts'
import { stateFiles } from '../src/server/programs/node/server-node.ts'
import { CONSUMER_STATE_KEY, fromStored } from '../src/store/payments.ts'
import { consoleTail, waitForReceipts } from './chat.ts'

const { url, deployment } = inject('devnet')
const root = join(import.meta.dirname, '..')
const MODEL = 'modelex-demo-30m'
const PRICE_IN = '0.001'
const PRICE_OUT = '0.003'
const reader = createPublicClient({ transport: http(deployment.rpcUrl), pollingInterval: 100 })
const balanceOf = (address: Address) =>
  readContract(reader, {
    address: deployment.contracts.AIToken as Address,
    abi: aiTokenAbi,
    functionName: 'balanceOf',
    args: [address],
  })

let dir: string
let stateDir: string
let node: ManagedProcess
let peerId: string
let operator: Address
let opsUrl: string
let opsToken: string
let browser: Browser
let context: BrowserContext
let consumer: Page
let consumerConsole: () => string[]
const pageErrors: string[] = []

/** One `npm run node -- console <command>` against the node's state directory: its JSON answer. */
async function runConsole(command: string): Promise<Record<string, unknown>> {
  const child = startProcess(
    `node-console-${command}`,
    process.execPath,
    ['--import', 'tsx', join(root, 'src/server/programs/node/main.ts'), 'console', command, '--state-dir', stateDir],
    { cwd: root },
  )
  try {
    const code = await child.exited
    if (code !== 0) throw new Error(`console ${command} exited ${code}:\n${child.output()}`)
    return JSON.parse(child.output()) as Record<string, unknown>
  } finally {
    await child.stop()
  }
}

/** A GraphQL query to the node's operations endpoint, with its token. */
async function graphql<T>(query: string): Promise<T> {
  const res = await fetch(`${opsUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${opsToken}` },
    body: JSON.stringify({ query }),
  })
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] }
  if (res.status !== 200 || body.errors) throw new Error(`GraphQL ${res.status}: ${JSON.stringify(body.errors)}`)
  return body.data as T
}

/** The consumer's payment document as the app keeps it in IndexedDB (database `modelex`, store `keys`). */
async function storedConsumerState(page: Page, account: string): Promise<ConsumerState> {
  const key = `${CONSUMER_STATE_KEY}:${deployment.chainId}:${account.toLowerCase()}`
  const raw = await page.evaluate(
    (k) =>
      new Promise<unknown>((resolve, reject) => {
        const open = indexedDB.open('modelex')
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const request = open.result.transaction('keys', 'readonly').objectStore('keys').get(k)
          request.onerror = () => reject(request.error)
          request.onsuccess = () => resolve(request.result)
        }
      }),
    key,
  )
  return fromStored<ConsumerState>(raw)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mx-e2e-node-'))
  stateDir = join(dir, 'state')
  const deploymentFile = join(dir, 'deployment.json')
  await writeFile(deploymentFile, JSON.stringify(deployment))
  const { [MODEL]: modelFile } = await ensureDemoModels({ names: [MODEL] })
  const args = [
    '--import',
    'tsx',
    join(root, 'src/server/programs/node/main.ts'),
    '--engine',
    'native',
    '--model',
    modelFile as string,
    '--threads',
    '1',
    '--price-in',
    PRICE_IN,
    '--price-out',
    PRICE_OUT,
    '--deployment',
    deploymentFile,
    '--state-dir',
    stateDir,
    '--ops-port',
    '0',
    '--announce-interval-ms',
    '1000',
  ]
  node = startProcess('server-node', process.execPath, args, { cwd: root })
  const [, id, op] = await node.waitForLine(/^Serving \S+ as (\S+) \(operator (0x[0-9a-fA-F]{40})\)/, 180_000)
  peerId = id as string
  operator = op as Address
  opsUrl = (await node.waitForLine(/^Operations: (http:\/\/127\.0\.0\.1:\d+)\/metrics/, 10_000))[1] as string
  opsToken = (await readFile(stateFiles(stateDir).opsToken, 'utf8')).trim()
  browser = await launchChromium()
  context = await browser.newContext()
  consumer = await context.newPage()
  consumerConsole = consoleTail(consumer)
  consumer.on('pageerror', (error) => pageErrors.push(error.message))
})

afterAll(async () => {
  await node?.stop()
  await context?.close()
  await browser?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('server node serving a browser consumer (native engine)', () => {
  it('a Chat page picks the server node, its paid answer streams, the receipt verifies against the node signer; the console anchors and redeems it', async () => {
    const status = await graphql<{
      status: {
        peerId: string
        operator: string
        signer: Address
        model: { id: string; contentHash: string; engine: string }
      }
    }>('{ status { peerId operator signer model { id contentHash engine } } }')
    expect(status.status).toMatchObject({
      peerId,
      operator,
      model: { id: MODEL, contentHash: DEMO_MODELS.find((m) => m.id === MODEL)?.contentHash, engine: 'native' },
    })
    const signer = status.status.signer

    // The consumer: the Chat view, a burner wallet, the model, then the server node from the node picker.
    await consumer.goto(new URL('#/chat', url).toString())
    await consumer.getByTestId('connect-burner').click()
    const account = ((await consumer.getByTestId('wallet-address').textContent({ timeout: 60_000 })) ?? '').trim()
    expect(account).toMatch(/^0x[0-9a-fA-F]{40}$/)
    await consumer.getByTestId('chat-model').selectOption(MODEL)
    const findNodes = consumer.getByRole('button', { name: 'Find nodes' })
    const picked = consumer.getByTestId('chat-node').locator(`option[value="${peerId}"]`)
    await expect
      .poll(
        async () => {
          if ((await picked.count()) === 0 && (await findNodes.isEnabled())) await findNodes.click()
          return picked.count()
        },
        { timeout: 120_000, interval: 1_000 },
      )
      .toBe(1)
    // The picker shows the node's announced prices.
    expect(await picked.textContent()).toContain(`in ${PRICE_IN} AI/M, out ${PRICE_OUT} AI/M`)
    await consumer.getByTestId('chat-node').selectOption(peerId)
    await consumer.getByLabel('Max tokens').fill('48')

    // Every text the answer shows, and whether its receipt was there yet: a streamed answer shows a part of itself
    // before the receipt comes.
    await consumer.evaluate(() => {
      const seen: { text: string; receipt: boolean }[] = []
      ;(window as unknown as { answerTexts: typeof seen }).answerTexts = seen
      const chat = document.querySelector('section.chat') as Element
      new MutationObserver(() => {
        const answer = [...chat.querySelectorAll('[data-testid="answer"]')].at(-1)
        const text = answer?.querySelector('p')?.textContent ?? ''
        const receipt = (answer?.querySelector('[data-testid="receipt"]') ?? null) !== null
        const last = seen.at(-1)
        if (!last || last.text !== text || last.receipt !== receipt) seen.push({ text, receipt })
      }).observe(chat, { childList: true, subtree: true, characterData: true })
    })
    await consumer.getByTestId('prompt').fill('Hello, server node')
    await consumer.getByTestId('send').click()
    await waitForReceipts(consumer, 1, { timeout: 180_000, console: consumerConsole })
    expect(await consumer.getByTestId('answer-error').count()).toBe(0)
    expect(await consumer.getByTestId('chat-error').count()).toBe(0)
    expect(await consumer.getByTestId('signature-verified').count()).toBe(1)

    const receiptView = consumer.getByTestId('receipt')
    const cost = BigInt((await receiptView.getAttribute('data-cost')) ?? 'x')
    const credit = BigInt((await receiptView.getAttribute('data-credit')) ?? 'x')
    const receiptHash = (await receiptView.getAttribute('data-receipt-hash')) ?? ''
    const channelId = BigInt((await receiptView.getAttribute('data-channel')) ?? 'x')
    expect(cost > 0n).toBe(true)
    const text = (await consumer.getByTestId('answer').locator('p').first().textContent()) ?? ''
    expect(text.length).toBeGreaterThan(0)

    // It streamed: a part of the answer was on screen before the whole, and before the receipt.
    const seen = await consumer.evaluate(
      () => (window as unknown as { answerTexts: { text: string; receipt: boolean }[] }).answerTexts,
    )
    const partial = seen.filter(
      (s) => !s.receipt && s.text.length > 0 && s.text.length < text.length && text.startsWith(s.text),
    )
    expect(partial.length, `texts seen: ${JSON.stringify(seen)}`).toBeGreaterThan(0)

    // The signed receipt the page kept: signed by the server node's signer, for this consumer and the text shown.
    const kept = await storedConsumerState(consumer, account)
    expect(kept.receipts).toHaveLength(1)
    expect(kept.receipts[0]?.peer).toBe(peerId)
    const signed = decodeSignedReceipt(kept.receipts[0]?.receipt)
    expect(signed.receiptHash).toBe(receiptHash)
    expect(signed.receipt.cost).toBe(cost)
    await verifySignedReceipt(
      signed,
      { chainId: deployment.chainId, verifyingContract: deployment.contracts.ReceiptAnchor as Address },
      { signer, consumer: account as Address, text },
    )
    await expect(
      verifySignedReceipt(
        signed,
        { chainId: deployment.chainId, verifyingContract: deployment.contracts.ReceiptAnchor as Address },
        { signer: operator, consumer: account as Address },
      ),
    ).rejects.toThrow(/expected the node signer/)

    // The node anchors the batch when its console asks; the page then finds the receipt in it, on-chain.
    expect(await runConsole('anchor')).toEqual({ batchesAnchored: 1, receiptsPending: 0 })
    const anchored = await graphql<{
      status: { batchesAnchored: number; receiptsPending: number; anchoringLagSeconds: number }
    }>('{ status { batchesAnchored receiptsPending anchoringLagSeconds } }')
    expect(anchored.status).toEqual({ batchesAnchored: 1, receiptsPending: 0, anchoringLagSeconds: 0 })
    await consumer.getByTestId('verify').click()
    await expect
      .poll(() => consumer.getByTestId('anchor-verified').allTextContents(), { timeout: 60_000 })
      .toEqual(['in an anchored batch (Merkle proof checked on-chain)'])

    // The console's redeem pays the operator what the node held for this receipt: its cost, and the consumer's
    // unspent credit unless the consumer's final voucher (sent after a minute idle) already took that back.
    const { earnings } = await graphql<{ earnings: { earned: string; pending: string } }>(
      '{ earnings(from: 0, to: 1e15) { earned pending } }',
    )
    expect(BigInt(earnings.earned)).toBe(cost)
    const before = await balanceOf(operator)
    const redeemed = BigInt((await runConsole('redeem'))['redeemed'] as string)
    expect(redeemed).toBe(BigInt(earnings.pending))
    expect([cost, cost + credit]).toContain(redeemed)
    expect((await balanceOf(operator)) - before).toBe(redeemed)
    const onChain = await getChannel(reader, { channels: deployment.contracts.PaymentChannels as Address, channelId })
    expect(onChain.node.toLowerCase()).toBe(operator.toLowerCase())
    expect(onChain.consumer.toLowerCase()).toBe(account.toLowerCase())
    expect(onChain.redeemed).toBe(redeemed)
    expect(pageErrors).toEqual([])

    // SIGTERM to the node's PID alone, as a process manager sends it: it drains (nothing in flight, nothing left to
    // anchor) and exits 0.
    process.kill(node.pid, 'SIGTERM')
    expect(await node.exited).toBe(0)
    expect(node.output()).toMatch(/Drained: 0 finished, 0 cancelled, 0 batch\(es\) anchored\./)
  })
})
