/**
 * The Evaluate view on the local stack (anvil with the contracts, the relay, the built app): a provider page (the
 * app's Node view, as the stack's demo provider starts it) serves the tiny demo model with the WebAssembly engine; an
 * evaluator page first goes online in its own Node view (which registers its node signer: peers accept attestations
 * only from a signer bound to an active node), then in the Evaluate view pays the provider for every suite — code
 * infilling with pass@1 in its Pyodide worker, sentiment, latency, uptime — shows the scores and publishes the signed
 * attestations. A peer in Node with its own attestation book (real gossip through the relay, validated against the
 * registry) receives them, and the provider page's Network view counts them and still shows the node as unknown: one
 * evaluator is not enough evidence. No test doubles.
 */
import '../../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { createPublicClient, getAddress, http, type Address, type Hex } from 'viem'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { VerifiedAttestation } from '../../core/attestation.ts'
import { createAttestationBook, registryAttestationChecks, type AttestationBook } from '../../p2p/attestations.ts'
import { createModelexNode, type ModelexNode } from '../../p2p/node.ts'
import { launchChromium } from '../../server/lib/chromium.ts'
import { startDemoProvider, type DemoProvider } from '../../server/programs/demo-provider.ts'
import { startDevnet, type Devnet } from '../../server/programs/devnet.ts'
import { freePort } from '../../server/lib/ports.ts'

const MODEL = 'modelex-demo-tiny'

let stateDir: string
let devnet: Devnet
let browser: Browser
let provider: DemoProvider
let evaluator: Page
let observer: ModelexNode
let book: AttestationBook
const pageErrors: string[] = []

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'modelex-evaluate-'))
  devnet = await startDevnet(
    {
      host: '127.0.0.1',
      chainPort: await freePort(),
      relayPort: await freePort(),
      appPort: await freePort(),
      stateDir,
      demoProvider: false,
    },
    () => {},
  )
  const { deployment } = devnet
  // Another peer, listening before anything is published: its book validates every attestation against the chain.
  observer = await createModelexNode({ relays: [deployment.relay as string], runtime: 'node' })
  await observer.start()
  const reader = createPublicClient({ transport: http(deployment.rpcUrl), pollingInterval: 100 })
  book = createAttestationBook(observer, {
    domain: { chainId: deployment.chainId, verifyingContract: deployment.contracts.ReceiptAnchor as Address },
    registry: registryAttestationChecks(reader, deployment.contracts.NodeRegistry as Address),
  })
  await book.start()
  browser = await launchChromium()
  provider = await startDemoProvider({ url: devnet.url, model: MODEL, browser })
  evaluator = await browser.newPage()
  evaluator.on('pageerror', (error) => pageErrors.push(error.message))
}, 600_000)

afterAll(async () => {
  await book?.stop()
  await observer?.stop()
  await provider?.stop()
  await browser?.close()
  await devnet?.stop()
  if (stateDir) await rm(stateDir, { recursive: true, force: true })
})

const started = Date.now()
/** Where a slow run spent its time (printed, never asserted). */
const step = (what: string) => console.log(`[evaluate ${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`)

test('the Evaluate view scores a real node, publishes signed attestations, and another peer accepts them', async () => {
  // The evaluator's own node: registering binds this app's node signer to an operator.
  await evaluator.goto(new URL(`#/node?autostart=1&model=${MODEL}`, devnet.url).toString())
  await evaluator.getByTestId('node-online').waitFor({ timeout: 180_000 })
  const evaluatorOperator = getAddress((await evaluator.getByTestId('wallet-address').textContent()) ?? '')

  step('evaluator online')
  await evaluator.getByRole('link', { name: 'Evaluate' }).click()
  await evaluator.getByTestId('connect-burner').click()
  await evaluator.getByTestId('wallet-address').waitFor({ timeout: 60_000 })
  await expect
    .poll(() => evaluator.getByTestId('evaluator-operator').textContent(), { timeout: 30_000 })
    .toContain(evaluatorOperator)

  // The provider appears in the picker once the directory hears it.
  const select = evaluator.getByTestId('evaluate-node')
  await expect.poll(() => select.locator(`option[value="${provider.peerId}"]`).count(), { timeout: 90_000 }).toBe(1)
  step('provider listed')
  await select.selectOption(provider.peerId)
  expect(await evaluator.getByTestId('evaluate-model').inputValue()).toBe(MODEL)
  await evaluator.getByTestId('evaluate-limit').fill('2')
  await evaluator.getByTestId('suite-sentiment').check()
  await evaluator.getByTestId('evaluate-run').click()
  await evaluator.getByTestId('evaluate-progress').waitFor({ timeout: 30_000 })
  // Scores, or the view's error (with the last progress it showed), whichever comes first.
  let lastProgress = ''
  await expect
    .poll(
      async () => {
        if (await evaluator.getByTestId('evaluate-progress').count())
          lastProgress = (await evaluator.getByTestId('evaluate-progress').textContent()) ?? lastProgress
        if (await evaluator.getByTestId('evaluate-error').count())
          return `error after "${lastProgress}": ${await evaluator.getByTestId('evaluate-error').textContent()}`
        return (await evaluator.getByTestId('evaluate-scores').count()) ? 'scored' : `running: ${lastProgress}`
      },
      { timeout: 300_000, interval: 1_000 },
    )
    .toBe('scored')
  step('scored')
  // Random weights: the scores mean nothing, but each suite was measured (uptime: the provider answered its pings).
  expect(await evaluator.getByTestId('score-fim-exact').textContent()).toMatch(/^\d+\.\d%$/)
  expect(await evaluator.getByTestId('score-fim-pass1').textContent()).toMatch(/^\d+\.\d%$/)
  expect(await evaluator.getByTestId('score-sentiment').textContent()).toMatch(/^\d+\.\d%$/)
  expect(await evaluator.getByTestId('score-latency').textContent()).toMatch(/^\d+ ms \/ \d+ ms$/)
  expect(await evaluator.getByTestId('score-uptime').textContent()).toBe('100.0%')

  await evaluator.getByTestId('evaluate-publish').click()
  await evaluator.getByTestId('evaluate-done').waitFor({ timeout: 60_000 })
  step('published')
  const published = Number(await evaluator.getByTestId('evaluate-published').getAttribute('data-count'))
  // fim-exact, fim-pass1, sentiment, latency-p50, latency-p95, uptime.
  expect(published).toBe(6)
  // The batch of six is anchored on-chain under the evaluator's operator (ReceiptAnchor.anchor from the node signer).
  await evaluator.getByTestId('evaluate-anchored').waitFor({ timeout: 60_000 })
  step('anchored')

  // Gossiped through the relay to a peer that validated each one (signer bound to the evaluator, node registered).
  const operator = getAddress(provider.operator)
  const arrived = new Map<string, VerifiedAttestation>()
  await expect
    .poll(
      () => {
        for (const v of book.list({ node: operator })) arrived.set(v.attestation.suite, v)
        return [...arrived.keys()].sort()
      },
      { timeout: 60_000 },
    )
    .toEqual(['fim-exact', 'fim-pass1', 'latency-p50', 'latency-p95', 'sentiment', 'uptime'])
  for (const v of arrived.values()) {
    expect(v.attestation).toMatchObject({
      evaluator: evaluatorOperator,
      node: operator,
      sampleSize: expect.any(Number) as number,
    })
    expect(v.attestation.modelHash).toMatch(/^0x[0-9a-f]{64}$/)
  }
  expect(arrived.get('uptime')?.attestation).toMatchObject({ score: 1_000_000, sampleSize: 2 })
  expect(arrived.get('fim-exact')?.attestation.sampleSize).toBe(2)
  // One evaluator alone does not make a node known.
  const reputation = await book.reputation(operator, arrived.get('uptime')?.attestation.modelHash as Hex)
  expect(reputation.status).toBe('unknown')

  // The provider's own app (another browser peer) heard them too.
  await provider.page.getByRole('link', { name: 'Network' }).click()
  await expect
    .poll(async () => Number(await provider.page.getByTestId('attestation-count').textContent()), { timeout: 60_000 })
    .toBeGreaterThanOrEqual(6)
  // The evaluator's Network view shows the provider as unknown rather than bad.
  await evaluator.getByRole('link', { name: 'Network' }).click()
  const cell = evaluator.locator(`tr[data-peer="${provider.peerId}"] [data-testid="reputation"]`).first()
  await expect.poll(() => cell.getAttribute('data-status'), { timeout: 30_000 }).toBe('unknown')
  expect(await evaluator.getByTestId('attestation-count').textContent()).toBe('6')
  expect(pageErrors).toEqual([])
}, 600_000)
