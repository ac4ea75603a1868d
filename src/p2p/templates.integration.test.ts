/**
 * Templates shared by hash, on the real relay (child process) and the real OracleRouter on anvil: peer B fetches a
 * template from peer A's store by its hash through the relay; an unknown hash is "unknown"; a peer that answers with
 * a tampered template (or one that does not parse) is refused; the template registered on-chain has the same id.
 */
import '../server/lib/node-shims.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createTestClient, createWalletClient, http, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { getTemplateModel, registerTemplate } from '../chain/actions/registerTemplate.ts'
import { ContractRevertedError } from '../core/errors/index.ts'
import { InvalidTemplateError, TemplateHashMismatchError } from '../core/errors/templates.ts'
import { CLASSIFICATION_TEMPLATE, SENTIMENT_TEMPLATE, templateId, type PromptTemplate } from '../core/templates.ts'
import { freePort } from '../server/lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../server/lib/relay-process.ts'
import { deployedContract } from '../server/testing/contracts.ts'
import { memoryTemplateStore, type TemplateStore } from '../store/templates.ts'
import { createModelexNode, type ModelexNode } from './node.ts'
import { serveOneFrame } from './one-frame.ts'
import { fetchTemplate, MAX_TEMPLATE_FRAME_BYTES, serveTemplates, TEMPLATE_PROTOCOL } from './templates.ts'

const deployment = inject('deployment')

/** A template nobody else has: the sentiment one, renamed for this run. */
const OWN: PromptTemplate = { ...SENTIMENT_TEMPLATE, name: `Sentiment ${Date.now()}`, version: '1.1.0' }

let dir: string
let relay: RelayProcess
let a: ModelexNode
let b: ModelexNode
let rogue: ModelexNode
let store: TemplateStore
const stops: (() => Promise<void>)[] = []

async function peer(): Promise<ModelexNode> {
  const node = await createModelexNode({ relays: [relay.multiaddr], runtime: 'node' })
  await node.start()
  stops.push(() => node.stop())
  await node.waitForReservation(15_000)
  return node
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-templates-'))
  relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
  ;[a, b, rogue] = await Promise.all([peer(), peer(), peer()])
  store = memoryTemplateStore()
  await store.put(OWN)
  stops.push(await serveTemplates(a, store))
})

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {})
  await relay?.process.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('/modelex/template/1.0.0', () => {
  test('peer B fetches a template from peer A by its hash, through the relay', async () => {
    const fetched = await fetchTemplate(b, a.peerId, templateId(OWN))
    expect(fetched).toEqual(OWN)
    expect(templateId(fetched as PromptTemplate)).toBe(templateId(OWN))
  })

  test('a hash the peer does not have is null', async () => {
    expect(await fetchTemplate(b, a.peerId, templateId(CLASSIFICATION_TEMPLATE))).toBeNull()
  })

  test('a tampered template is refused with TemplateHashMismatchError, an unparsable one with InvalidTemplateError', async () => {
    let answer: unknown = {
      status: 'found',
      template: { ...OWN, text: 'Headline: {{headline}}\nScore (be generous):' },
    }
    stops.push(await serveOneFrame(rogue, TEMPLATE_PROTOCOL, MAX_TEMPLATE_FRAME_BYTES, async () => answer as never))
    const error = await fetchTemplate(b, rogue.peerId, templateId(OWN)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TemplateHashMismatchError)
    expect((error as TemplateHashMismatchError).requested).toBe(templateId(OWN))

    answer = { status: 'found', template: { ...OWN, text: '{{unknown}}' } }
    expect(await fetchTemplate(b, rogue.peerId, templateId(OWN)).catch((e: unknown) => e)).toBeInstanceOf(
      InvalidTemplateError,
    )
  })

  test('a malformed request gets no answer, and the server keeps serving', async () => {
    const { askOneFrame } = await import('./one-frame.ts')
    await expect(
      askOneFrame(b, a.peerId.toString(), TEMPLATE_PROTOCOL, MAX_TEMPLATE_FRAME_BYTES, { hash: 'nope' }, 5_000),
    ).rejects.toThrow()
    expect(await fetchTemplate(b, a.peerId, templateId(OWN))).toEqual(OWN)
  })
})

describe('OracleRouter.registerTemplate', () => {
  test('registers the canonical JSON: the on-chain hash is the template id, and a second registration reverts', async () => {
    const transport = http(deployment.rpcUrl)
    const account = privateKeyToAccount(generatePrivateKey())
    await createTestClient({ mode: 'anvil', transport }).setBalance({
      address: account.address,
      value: parseEther('1'),
    })
    const wallet = createWalletClient({ account, transport, pollingInterval: 50 })
    const router = deployedContract(deployment, 'OracleRouter')
    const publicClient = createPublicClient({ transport })
    expect(await getTemplateModel(publicClient, { router, templateHash: templateId(OWN) })).toBeNull()
    const registered = await registerTemplate(wallet, { router, template: OWN })
    expect(registered.templateHash).toBe(templateId(OWN))
    expect(await getTemplateModel(publicClient, { router, templateHash: templateId(OWN) })).toBe(
      OWN.models[0]?.contentHash,
    )
    const again = await registerTemplate(wallet, { router, template: OWN }).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(ContractRevertedError)
    expect((again as Error).message).toMatch(/TemplateExists/)
  })
})
