/**
 * The paid journey end to end on the local stack: a provider page (the app's Node view, started like the stack's
 * demo provider) runs the WebAssembly engine on a generated demo model; a consumer page (the Chat view) opens a
 * channel and sends three prompts, and gets three receipts whose signatures verify; the provider anchors the batch
 * and redeems; the chain's balances moved by exactly what the receipts and the held voucher say, and each receipt's
 * inclusion proof verifies on-chain. Both pages' histories then show the journey: the consumer's Spending view lists
 * the three requests to that node for the receipts' total, verified, and the provider's Node view counts three
 * requests served for the same earnings (read from the views and their CSV exports, as a user would). The same
 * journey then runs once from the SDK in Node against the browser provider. Real stack, real browser, real chain:
 * no doubles.
 */
import '../src/server/lib/node-shims.ts'
import { readFile } from 'node:fs/promises'
import type { Browser, Page } from 'playwright-core'
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { readContract } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { getChannel } from '../src/chain/actions/getChannel.ts'
import { verifyReceipt } from '../src/chain/actions/verifyReceipt.ts'
import { aiTokenAbi, receiptAnchorAbi } from '../src/chain/generated.ts'
import { createClient, PaidRequestInterruptedError } from '../src/client/index.ts'
import { launchChromium } from '../src/server/lib/chromium.ts'
import { startDemoProvider, type DemoProvider } from '../src/server/programs/demo-provider.ts'
import { formatAi } from '../src/ui/views/dashboard.ts'
import { consoleTail, waitForReceipts } from './chat.ts'

const { url, deployment } = inject('devnet')
const MODEL = 'modelex-demo-tiny'
/** About 25 tokens/s in the WebAssembly engine here: an answer that is still streaming when its page closes. */
const SLOW_MODEL = 'modelex-demo-30m'
const transport = http(deployment.rpcUrl)
const reader = createPublicClient({ transport, pollingInterval: 100 })
const token = deployment.contracts.AIToken as Address
const channels = deployment.contracts.PaymentChannels as Address
const anchor = deployment.contracts.ReceiptAnchor as Address
const balanceOf = (address: Address) =>
  readContract(reader, { address: token, abi: aiTokenAbi, functionName: 'balanceOf', args: [address] })

/** What a view's Export CSV button downloads. */
async function download(page: Page, button: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(button).click()])
  return readFile((await file.path()) as string, 'utf8')
}

/** The rows of a dashboard CSV (no field of ours holds a comma or a quote) by column name. */
function csvRows(csv: string): Record<string, string>[] {
  const [header = [], ...rows] = csv
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) => line.split(','))
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i] ?? ''])))
}

let browser: Browser
let provider: DemoProvider
let consumer: Page
let consumerConsole: () => string[]
const pageErrors: string[] = []

beforeAll(async () => {
  browser = await launchChromium()
  provider = await startDemoProvider({ url, model: MODEL, batch: 3, browser })
  consumer = await browser.newPage()
  consumerConsole = consoleTail(consumer)
  consumer.on('pageerror', (error) => pageErrors.push(error.message))
  // The app's "ready to start without a network" toast shows once its service worker is installed, over the
  // bottom of the page (the Chat view's Send button); a user dismisses it with OK, whenever it comes.
  for (const page of [consumer, provider.page]) {
    const toast = page.getByTestId('pwa-offline-ready')
    await page.addLocatorHandler(toast, () => toast.getByRole('button', { name: 'OK' }).click())
  }
})

afterAll(async () => {
  await provider?.stop()
  await browser?.close()
})

describe('paid prompts end to end (browser provider, browser consumer, SDK)', () => {
  it('three paid prompts from the Chat view: receipts verify, the batch is anchored, redeemed amounts match the chain, both dashboards show them', async () => {
    const operator = provider.operator as Address
    const operatorBefore = await balanceOf(operator)
    await consumer.goto(new URL('#/chat', url).toString())
    await consumer.getByTestId('connect-burner').click()
    await consumer.getByTestId('wallet-address').waitFor({ timeout: 60_000 })
    await consumer.getByTestId('chat-model').selectOption(MODEL)
    for (const [i, prompt] of ['Hello there', 'Tell me more', 'And once again'].entries()) {
      await consumer.getByTestId('prompt').fill(prompt)
      await consumer.getByTestId('send').click()
      await waitForReceipts(consumer, i + 1, { timeout: 120_000, console: consumerConsole })
    }
    expect(await consumer.getByTestId('answer-error').count()).toBe(0)
    expect(await consumer.getByTestId('signature-verified').count()).toBe(3)
    const receipts = await consumer.getByTestId('receipt').evaluateAll((nodes) =>
      nodes.map((n) => ({
        cost: n.getAttribute('data-cost') ?? '',
        credit: n.getAttribute('data-credit') ?? '',
        hash: n.getAttribute('data-receipt-hash') ?? '',
        channel: n.getAttribute('data-channel') ?? '',
      })),
    )
    const total = receipts.reduce((sum, r) => sum + BigInt(r.cost), 0n)
    const credit = BigInt(receipts.at(-1)?.credit ?? '0')
    expect(total > 0n).toBe(true)

    // The provider page anchors by itself at 3 receipts; then redeem from the page.
    await expect.poll(() => provider.page.getByTestId('batches-anchored').textContent(), { timeout: 60_000 }).toBe('1')
    await provider.page.getByTestId('redeem-now').click()
    await expect.poll(async () => (await balanceOf(operator)) - operatorBefore, { timeout: 60_000 }).not.toBe(0n)
    const earned = (await balanceOf(operator)) - operatorBefore
    const channelId = BigInt(receipts[0]?.channel ?? '0')
    const onChain = await getChannel(reader, { channels, channelId })
    // What left the channel for the node is exactly the receipts' total plus the credit the consumer had left.
    expect(onChain.redeemed).toBe(total + credit)
    expect(earned).toBe(total + credit)

    // Each receipt's inclusion proof, checked on-chain from the page (and the verdict from the contract itself).
    const verifyButtons = consumer.getByTestId('verify')
    for (let i = 0; i < 3; i++) await verifyButtons.nth(i).click()
    await expect
      .poll(() => consumer.getByTestId('anchor-verified').allTextContents(), { timeout: 60_000 })
      .toEqual(Array(3).fill('in an anchored batch (Merkle proof checked on-chain)'))

    // The consumer's Spending view, opened from the menu: the three paid requests, to the provider's node, for the
    // receipts' total, each verified on-chain (the Chat view records the checks just made; reload until they show).
    await consumer.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Spending' }).click()
    let reload = false
    await expect
      .poll(
        async () => {
          if (reload) await consumer.reload()
          reload = true
          await consumer.getByTestId('chart-spending').waitFor({ timeout: 30_000 })
          return consumer.getByTestId('receipt-state').allTextContents()
        },
        { timeout: 60_000 },
      )
      .toEqual(Array(3).fill('verified on-chain'))
    expect(await consumer.getByTestId('spending-count').textContent()).toBe('3')
    expect(await consumer.getByTestId('spending-total').textContent()).toBe(formatAi(total))
    const nodeRows = consumer
      .getByTestId('spending-nodes')
      .getByRole('row')
      .filter({ has: consumer.getByTitle(provider.peerId, { exact: true }) })
    expect(await nodeRows.count()).toBe(1)
    expect((await nodeRows.getByRole('cell').allTextContents()).slice(1).map((t) => t.trim())).toEqual([
      '3',
      expect.stringMatching(/^\d+ \/ \d+$/),
      formatAi(total),
      '3 of 3',
    ])
    for (const r of receipts)
      expect(await consumer.getByTestId('spending-receipts').getByTitle(r.hash, { exact: true }).count()).toBe(1)
    // The exact figures, from the view's CSV export.
    const paidRows = csvRows(await download(consumer, 'export-spending-csv'))
    expect(paidRows).toHaveLength(3)
    expect(paidRows.map((row) => row.node)).toEqual(Array(3).fill(provider.peerId))
    expect(paidRows.map((row) => row.model)).toEqual(Array(3).fill(MODEL))
    expect(paidRows.map((row) => row.verification)).toEqual(Array(3).fill('verified'))
    expect(new Set(paidRows.map((row) => row.receipt_hash))).toEqual(new Set(receipts.map((r) => r.hash)))
    expect(paidRows.reduce((sum, row) => sum + BigInt(row.cost_wei ?? 'x'), 0n)).toBe(total)

    // The provider's Node view, History section: three live requests served, no jobs, earning the receipts' total
    // (the channel's leftover credit, redeemed with them, is not a request's earnings).
    const history = provider.page.getByRole('region', { name: 'History' })
    await expect
      .poll(() => history.getByTestId('chart-requests-summary-0').textContent(), { timeout: 30_000 })
      .toBe('3')
    expect(await history.getByTestId('chart-requests-summary-1').textContent()).toBe('0')
    expect(await history.getByTestId('chart-earnings-summary-0').textContent()).toBe(formatAi(total))
    const servedRows = csvRows(await download(provider.page, 'export-served-csv'))
    expect(servedRows.map((row) => row.kind)).toEqual(Array(3).fill('chat'))
    expect(servedRows.map((row) => row.model)).toEqual(Array(3).fill(MODEL))
    expect(servedRows.reduce((sum, row) => sum + BigInt(row.earnings_wei ?? 'x'), 0n)).toBe(total)
    // Live requests are timed, from admission to settlement.
    expect(servedRows.map((row) => /^\d+$/.test(row.latency_ms ?? ''))).toEqual(Array(3).fill(true))
    expect(pageErrors).toEqual([])
  })

  it('the SDK in Node pays the browser provider and verifies the receipt on-chain', async () => {
    const funder = createWalletClient({
      account: mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 5 }),
      transport,
      pollingInterval: 100,
    })
    const client = createClient({ deployment, wallet: funder, channelDeposit: parseEther('1') })
    try {
      const answer = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'From Node' }],
        max_tokens: 8,
        node: provider.peerId,
      })
      expect(answer.modelex.receipt.receipt.nodeSigner).toBeTruthy()
      expect(answer.modelex.cost <= answer.modelex.quote.maxCost).toBe(true)
      await provider.page.getByTestId('anchor-now').click()
      await expect.poll(async () => (await client.verify(answer.modelex)).anchored, { timeout: 60_000 }).toBe(true)
      const verification = await client.verify(answer.modelex)
      expect(verification).toMatchObject({ anchored: true, verified: true })
      if (verification.anchored)
        expect(
          await verifyReceipt(reader, {
            anchor,
            operator: answer.modelex.quote.node,
            root: verification.root,
            receiptHash: answer.modelex.receipt.receiptHash as Hex,
            proof: verification.proof,
          }),
        ).toBe(true)
    } finally {
      await client.stop()
    }
  })

  it('the provider RPC fails while receipts wait: anchoring retries, and every receipt is anchored exactly once', async () => {
    const funder = createWalletClient({
      account: mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 3 }),
      transport,
      pollingInterval: 100,
    })
    const client = createClient({ deployment, wallet: funder, channelDeposit: parseEther('1') })
    const rpcOrigin = new URL(deployment.rpcUrl).origin
    const rpcDown = (requested: URL) => requested.origin === rpcOrigin
    try {
      // The next block: the latest one may hold an earlier test's anchor.
      const fromBlock = (await reader.getBlockNumber()) + 1n
      const batchesBefore = Number(await provider.page.getByTestId('batches-anchored').textContent())
      const ask = async (content: string) =>
        (
          await client.chat.completions.create({
            model: MODEL,
            messages: [{ role: 'user', content }],
            max_tokens: 4,
            node: provider.peerId,
          })
        ).modelex
      // The first request opens the channel (the node reads it on-chain), then the node's RPC goes away.
      const results = [await ask('while the chain answers')]
      await provider.page.route(rpcDown, (route) => route.abort('connectionrefused'))
      results.push(await ask('rpc down, one'), await ask('rpc down, two'))
      await expect
        .poll(() => provider.page.getByText('Last chain error (retrying)').count(), { timeout: 30_000 })
        .toBe(1)
      expect(Number(await provider.page.getByTestId('batches-anchored').textContent())).toBe(batchesBefore)
      await provider.page.unroute(rpcDown)
      await expect
        .poll(async () => Number(await provider.page.getByTestId('batches-anchored').textContent()), {
          timeout: 90_000,
        })
        .toBe(batchesBefore + 1)
      const logs = await reader.getContractEvents({
        address: anchor,
        abi: receiptAnchorAbi,
        eventName: 'RootAnchored',
        fromBlock,
      })
      expect(logs.filter((l) => l.args.operator === provider.operator)).toHaveLength(1)
      for (const r of results) expect(await client.verify(r)).toMatchObject({ anchored: true, verified: true })
    } finally {
      await provider.page.unroute(rpcDown).catch(() => {})
      await client.stop()
    }
  })

  it('the provider page closes mid-stream: the consumer keeps the partial text, a typed error and its credit', async () => {
    // A provider of its own (a page in a context of its own: its own peer key and wallet), on the slower demo model
    // (~25 tokens/s here): the tiny one can finish its whole answer (its context is 1,024 tokens) while the page is
    // closing, and then there is no mid-stream to close in.
    const slow = await startDemoProvider({ url, model: SLOW_MODEL, browser })
    const funder = createWalletClient({
      account: mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 4 }),
      transport,
      pollingInterval: 100,
    })
    const client = createClient({ deployment, wallet: funder, channelDeposit: parseEther('1') })
    try {
      const stream = await client.completions.create({
        model: SLOW_MODEL,
        prompt: 'A long story',
        max_tokens: 2000,
        stream: true,
        node: slow.peerId,
      })
      let text = ''
      let error: unknown
      try {
        for await (const chunk of stream) {
          text += chunk.choices[0]?.text ?? ''
          if (text.length > 20 && !slow.page.isClosed()) void slow.page.close()
        }
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(PaidRequestInterruptedError)
      const interrupted = error as PaidRequestInterruptedError
      expect(interrupted.text).toBe(text)
      expect(text.length).toBeGreaterThan(20)
      const channel = Object.values(await client.channels())[0]
      expect(interrupted.credit).toBe((channel?.signed ?? 0n) - (channel?.settled ?? 0n))
      expect(interrupted.credit > 0n).toBe(true)
    } finally {
      await client.stop()
      await slow.stop()
    }
  })
})
