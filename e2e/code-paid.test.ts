/**
 * Paid code completion end to end on the local stack, from a browser provider (the app's Node view running the
 * WebAssembly engine on a generated demo model): the Code view with no local model pays the node for each
 * suggestion (ghost text appears, Tab inserts it, the receipts add up), and `npm run gateway -- --route network`, as
 * a process with its devnet burner wallet, pays the same node for the official `openai` client's completions.
 */
import '../src/server/lib/node-shims.ts'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import OpenAI from 'openai'
import type { Browser, Page } from 'playwright-core'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { launchChromium } from '../src/server/lib/chromium.ts'
import { startDemoProvider, type DemoProvider } from '../src/server/programs/demo-provider.ts'
import type { PaidSummary } from '../src/server/programs/gateway-openai.ts'
import { freePort } from '../src/server/lib/ports.ts'
import { startProcess, type ManagedProcess } from '../src/server/lib/process.ts'
import { editorText as editorTextOf, ghostText } from '../src/server/testing/editor.ts'

const { url, deployment } = inject('devnet')
const MODEL = 'modelex-demo-tiny'
const root = resolve(import.meta.dirname, '..')

let browser: Browser
let provider: DemoProvider
let coder: Page
let dir: string
const pageErrors: string[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-code-paid-'))
  browser = await launchChromium()
  provider = await startDemoProvider({ url, model: MODEL, browser })
  coder = await browser.newPage()
  coder.on('pageerror', (error) => pageErrors.push(error.message))
})

afterAll(async () => {
  await provider?.stop()
  await browser?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('paid code completion from a network node', () => {
  it('the Code view with no local model pays the node per suggestion: ghost text appears, Tab inserts it, receipts add up', async () => {
    const editorText = () => editorTextOf(coder)
    const ghost = () => ghostText(coder)
    await coder.goto(new URL('#/code', url).toString())
    await coder.getByTestId('connect-burner').click()
    await coder.getByTestId('wallet-address').waitFor({ timeout: 60_000 })
    await coder.getByTestId('code-network-model').selectOption(MODEL)
    await coder.getByTestId('code-network-node').fill(provider.peerId)
    await coder.getByTestId('code-use-network').click()
    await coder
      .getByTestId('code-network-ready')
      .waitFor({ timeout: 60_000 })
      .catch(async (error: unknown) => {
        throw new Error(
          `no paid source: ${await coder
            .getByTestId('code-error')
            .textContent()
            .catch(() => 'no error shown')}`,
          { cause: error },
        )
      })

    const before = await editorText()
    await coder.getByTestId('code-editor').click()
    await coder.keyboard.press('Control+End')
    await coder.keyboard.type('    return ')
    // Quote, channel opening and the answer: the first suggestion takes longest. An error shows in place of the latency.
    const latencyOrError = () =>
      coder.evaluate(
        () =>
          document.querySelector('.cm-ghost-latency')?.textContent ??
          document.querySelector('[data-testid="code-error"]')?.textContent ??
          null,
      )
    await expect.poll(latencyOrError, { timeout: 120_000 }).toMatch(/^\d+ ms$/)
    const suggestion = (await ghost()) as string
    expect(suggestion.length).toBeGreaterThan(0)
    await coder.keyboard.press('Tab')
    await expect.poll(ghost).toBeNull()
    expect(await editorText()).toBe(`${before}    return ${suggestion}`)

    const paid = coder.getByTestId('code-paid')
    await paid.waitFor({ timeout: 30_000 })
    expect(Number(await paid.getAttribute('data-count'))).toBeGreaterThanOrEqual(1)
    expect(BigInt((await paid.getAttribute('data-spent')) ?? '0') > 0n).toBe(true)
    expect(await paid.textContent()).toContain('signature verified')
    expect(await coder.getByTestId('code-error').count()).toBe(0)
    expect(pageErrors).toEqual([])
  })

  it('a browser wallet (EIP-6963) funds a session key once; paid suggestions then never ask it to sign', async () => {
    // A browser wallet as the page sees one: announced through EIP-6963, answering EIP-1193 requests. Behind it,
    // anvil signs for its own test account; the page counts what the wallet was asked.
    const address = mnemonicToAccount('test test test test test test test test test test test junk', {
      addressIndex: 3,
    }).address
    const page = await (await browser.newContext()).newPage()
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await page.addInitScript(
      ([rpcUrl, account]) => {
        const asked: string[] = []
        let id = 0
        const provider = {
          async request({ method, params }: { method: string; params?: unknown[] }) {
            asked.push(method)
            if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [account]
            if (
              method === 'wallet_switchEthereumChain' ||
              method === 'wallet_addEthereumChain' ||
              method === 'wallet_requestPermissions'
            )
              return null
            const answer = await (
              await fetch(rpcUrl, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params: params ?? [] }),
              })
            ).json()
            if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code })
            return answer.result
          },
          on() {},
          removeListener() {},
        }
        const info = {
          uuid: '6f1a6c63-5bd1-4c43-9d5e-0f9d5a3a1e01',
          name: 'Test Wallet',
          icon: 'data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"/>',
          rdns: 'dev.modelex.testwallet',
        }
        const announce = () =>
          window.dispatchEvent(
            new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }),
          )
        window.addEventListener('eip6963:requestProvider', announce)
        announce()
        Object.assign(window, { walletAsked: asked })
      },
      [deployment.rpcUrl, address] as const,
    )
    await page.goto(new URL('#/code', url).toString())
    await page.getByRole('button', { name: 'Connect Test Wallet' }).click()
    await expect.poll(() => page.getByTestId('wallet-address').textContent(), { timeout: 30_000 }).toBe(address)
    expect(await page.getByTestId('code-injected-warning').count()).toBe(1)
    await page.getByTestId('connect-session').click()
    await expect.poll(() => page.getByTestId('wallet-address').textContent(), { timeout: 60_000 }).not.toBe(address)
    const asked = () => page.evaluate(() => (window as unknown as { walletAsked: string[] }).walletAsked)
    const funding = (await asked()).filter((m) => m === 'eth_sendTransaction').length
    expect(funding).toBe(2)

    await page.getByTestId('code-network-model').selectOption(MODEL)
    await page.getByTestId('code-network-node').fill(provider.peerId)
    await page.getByTestId('code-use-network').click()
    await page.getByTestId('code-network-ready').waitFor({ timeout: 60_000 })
    await page.getByTestId('code-editor').click()
    await page.keyboard.press('Control+End')
    await page.keyboard.type('    return ')
    const latencyOrError = () =>
      page.evaluate(
        () =>
          document.querySelector('.cm-ghost-latency')?.textContent ??
          document.querySelector('[data-testid="code-error"]')?.textContent ??
          null,
      )
    await expect.poll(latencyOrError, { timeout: 120_000 }).toMatch(/^\d+ ms$/)
    await page.getByTestId('code-paid').waitFor({ timeout: 30_000 })
    // The channel was opened and every voucher signed by the session key: the browser wallet was asked nothing more.
    const after = await asked()
    expect(after.filter((m) => m === 'eth_sendTransaction').length).toBe(funding)
    expect(after.filter((m) => m.startsWith('eth_sign') || m === 'personal_sign')).toEqual([])
    expect(pageErrors).toEqual([])
    await page.context().close()
  })

  it('`npm run gateway -- --route network` pays the browser node for the openai client, streamed and not', async () => {
    const deploymentFile = join(dir, 'deployment.json')
    await writeFile(deploymentFile, JSON.stringify(deployment))
    const port = await freePort()
    const token = 'e2e-gateway-token-0123456789abcdef'
    const gateway: ManagedProcess = startProcess(
      'gateway',
      process.execPath,
      [
        '--import',
        'tsx',
        'src/server/programs/gateway.ts',
        '--port',
        String(port),
        '--route',
        'network',
        '--deployment',
        deploymentFile,
        '--state-file',
        join(dir, 'gateway-state.json'),
        '--key-file',
        join(dir, 'gateway.key'),
      ],
      {
        cwd: root,
        env: { ...process.env, MODELEX_GATEWAY_TOKEN: token, MODELEX_WALLET_KEY: '' },
      },
    )
    try {
      await gateway.waitForLine(/Modelex gateway on/, 60_000)
      expect(gateway.output()).toMatch(/Network route: paying from 0x[0-9a-fA-F]{40} on chain 31337/)
      const openai = new OpenAI({
        baseURL: `http://127.0.0.1:${port}/v1`,
        apiKey: token,
        maxRetries: 0,
        timeout: 120_000,
      })
      const node = { modelex_node: provider.peerId }

      const stream = await openai.completions.create({
        model: MODEL,
        prompt: 'def add(a, b):\n    return ',
        suffix: '\n',
        max_tokens: 8,
        stream: true,
        ...node,
      })
      let text = ''
      let summary: PaidSummary | undefined
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? ''
        summary ??= (chunk as unknown as { modelex?: PaidSummary }).modelex
      }
      expect(text.length).toBeGreaterThan(0)
      expect(summary?.peer).toBe(provider.peerId)
      expect(BigInt(summary?.cost ?? '0') > 0n).toBe(true)

      const chat = (await openai.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Say something' }],
        max_tokens: 6,
        ...node,
      })) as OpenAI.ChatCompletion & { modelex: PaidSummary }
      expect(chat.choices[0]?.message.content?.length).toBeGreaterThan(0)
      expect(chat.modelex.channel_id).toBe(summary?.channel_id)
      expect(BigInt(chat.modelex.cost) <= BigInt(chat.modelex.max_cost)).toBe(true)
    } finally {
      await gateway.stop()
    }
    expect(() => process.kill(gateway.pid, 0)).toThrow()
  })
})
