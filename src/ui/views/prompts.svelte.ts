/**
 * The Prompts view as rune state: browse the built-in and stored templates, fill one's parameters in a form
 * generated from its schema (each field's error shown beside it), then run it — on this browser's engine (free, the
 * app's shared `EngineSession`) or on a node of the network, quoted and paid exactly like Chat through the SDK —
 * and show the validated output or the typed error. Publishing checks a template written as JSON, stores it in
 * this browser (IndexedDB), serves it by hash on `/modelex/template/1.0.0` from the app's peer, and optionally
 * registers its hash on the OracleRouter. A template can also be fetched from a peer by hash (verified).
 * Dependencies are injectable.
 */
import type { Hex } from 'viem'
import { loadDeployment } from '../../chain/deployment.ts'
import { createClient, type ModelexClient, type PaidResult } from '../../client/index.ts'
import type { Deployment } from '../../core/deployment.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import { runInference, type InferenceRequest } from '../../core/inference.ts'
import { DEMO_MODELS } from '../../core/models.ts'
import type { Quote } from '../../core/quote.ts'
import {
  BUILTIN_TEMPLATES,
  canonicalJson,
  parametersFromForm,
  parseTemplate,
  renderTemplate,
  templateId,
  templateTokenBounds,
  validateOutput,
  type PromptTemplate,
  type TemplateOutput,
  type TemplateParameterValues,
} from '../../core/templates.ts'
import { indexedDbStore, type KeyValueStore } from '../../store/kv.ts'
import { indexedDbTemplateStore, type TemplateStore } from '../../store/templates.ts'
import { WalletState } from '../components/wallet/wallet.svelte.ts'
import type { EngineSession } from '../engine-session.svelte.ts'
import type { NetworkState } from './network.svelte.ts'

export type TemplateEntry = { id: Hex; template: PromptTemplate; source: 'built-in' | 'stored' }
export type RunError = { name: string; message: string }
export type RunOutcome = { output: TemplateOutput; text: string; where: 'local' | 'network'; paid?: PaidResult }

export type PromptsViewDependencies = {
  network: () => Promise<NetworkState>
  engine: () => Promise<EngineSession>
  deployment?: () => Promise<Deployment | null>
  store?: () => KeyValueStore
  templates?: () => TemplateStore
}

const errorOf = (error: unknown): RunError =>
  error instanceof Error
    ? { name: error.name, message: error.message.split('\n')[0] ?? error.name }
    : { name: 'Error', message: String(error) }

export class PromptsViewState {
  deployment = $state<Deployment | null>(null)
  wallet = $state<WalletState | null>(null)
  entries = $state<TemplateEntry[]>(
    BUILTIN_TEMPLATES.map((template) => ({ id: templateId(template), template, source: 'built-in' as const })),
  )
  selectedId = $state<Hex>(templateId(BUILTIN_TEMPLATES[0] as PromptTemplate))
  /** The form: one text per parameter. */
  fields = $state<Record<string, string>>({})
  /** 'local': this browser's engine; 'network': a node, paid. */
  target = $state<'local' | 'network'>('local')
  model = $state('')
  node = $state('auto')
  nodes = $state<DirectoryEntry[]>([])
  quote = $state<Quote | null>(null)
  outcome = $state<RunOutcome | null>(null)
  /** The last paid answer (shown with its cost even when its output breaks the constraint). */
  paid = $state<PaidResult | null>(null)
  error = $state<RunError | null>(null)
  busy = $state(false)
  /** The JSON being authored for publishing. */
  draft = $state('')
  published = $state<{ id: Hex; served: boolean; registered: Hex | null; note: string | null } | null>(null)
  publishError = $state<RunError | null>(null)
  #deps: Required<PromptsViewDependencies>
  #templates: TemplateStore | null = null
  #client: ModelexClient | null = null
  #stopServing: (() => Promise<void>) | null = null

  constructor(deps: PromptsViewDependencies) {
    this.#deps = {
      deployment: () => loadDeployment(),
      store: indexedDbStore,
      templates: indexedDbTemplateStore,
      ...deps,
    }
  }

  get selected(): TemplateEntry {
    return this.entries.find((entry) => entry.id === this.selectedId) ?? (this.entries[0] as TemplateEntry)
  }

  async init(): Promise<void> {
    this.select(this.selectedId)
    this.#templates = this.#deps.templates()
    await this.#reloadStored()
    this.deployment = await this.#deps.deployment().catch(() => null)
    if (this.deployment)
      this.wallet = new WalletState({
        deployment: this.deployment,
        store: this.#deps.store(),
        role: 'consumer',
        funder: 6,
      })
  }

  async destroy(): Promise<void> {
    await this.#stopServing?.().catch(() => {})
    this.#stopServing = null
  }

  select(id: Hex): void {
    this.selectedId = id
    const template = this.selected.template
    this.fields = Object.fromEntries(template.parameters.map((p) => [p.name, '']))
    this.model = template.models[0]?.id ?? ''
    this.outcome = null
    this.error = null
    this.quote = null
    this.draft = JSON.stringify(template, null, 2)
  }

  /** Each field's error as the form stands (empty when the parameters are valid). */
  get fieldErrors(): Record<string, string> {
    try {
      this.#request()
      return {}
    } catch (error) {
      const e = error as { name?: string; parameter?: string; message?: string }
      if (e.name === 'TemplateParameterError' && e.parameter)
        return { [e.parameter]: (e.message ?? '').split('\n')[0] ?? '' }
      return {}
    }
  }

  #values(): TemplateParameterValues {
    return parametersFromForm(this.selected.template, this.fields)
  }

  #request(model?: string): InferenceRequest {
    const template = this.selected.template
    const chosen = model ?? (this.model === '' ? undefined : this.model)
    return renderTemplate(template, this.#values(), { seed: 0, ...(chosen === undefined ? {} : { model: chosen }) })
  }

  /** The exact token bounds of the filled template (input bound of the filled text, output `maxTokens`), or null. */
  get bounds(): { inputTokens: number; outputTokens: number } | null {
    try {
      return templateTokenBounds(this.selected.template, this.#request())
    } catch {
      return null
    }
  }

  async #ready(): Promise<ModelexClient> {
    if (this.#client) return this.#client
    const wallet = this.wallet?.client
    if (!this.deployment || !wallet) throw new Error('Connect a wallet first to run on the network.')
    const net = await this.#deps.network()
    await net.start()
    if (!net.node) throw new Error(net.error ?? 'the network node did not start')
    this.#client = createClient({
      deployment: this.deployment,
      wallet,
      node: net.node,
      ...(net.directory ? { directory: net.directory } : {}),
      store: this.#deps.store(),
      reputation: net.reputationLookup,
    })
    return this.#client
  }

  async refreshNodes(): Promise<void> {
    await this.#guard(async () => {
      this.nodes = await (await this.#ready()).nodes({ model: this.model, timeoutMs: 5_000 })
    })
  }

  async getQuote(): Promise<void> {
    await this.#guard(async () => {
      const { kind, ...request } = this.#request()
      void kind
      const { quote } = await (
        await this.#ready()
      ).quote({ ...request, ...(this.node === 'auto' ? {} : { node: this.node }) } as Parameters<
        ModelexClient['quote']
      >[0])
      this.quote = quote
    })
  }

  async run(): Promise<void> {
    this.outcome = null
    this.paid = null
    await this.#guard(async () => {
      const template = this.selected.template
      const values = this.#values()
      if (this.target === 'local') {
        const session = await this.#deps.engine()
        const engine = session.engine
        if (!engine || !session.loaded) throw new Error('Load a model in this browser first.')
        const result = await runInference(
          engine,
          renderTemplate(template, values, { model: session.loaded.id, seed: 0 }),
        )
        this.outcome = { output: validateOutput(template, result.text, values), text: result.text, where: 'local' }
        return
      }
      const client = await this.#ready()
      const request = this.#request()
      const node = this.node === 'auto' ? {} : { node: this.node }
      const paid =
        request.kind === 'chat'
          ? (await client.chat.completions.create({ ...withoutKind(request), ...node, stream: false })).modelex
          : (await client.completions.create({ ...withoutKind(request), ...node, stream: false })).modelex
      this.quote = paid.quote
      // The node was paid for what it sent: the payment is shown even when the output breaks the constraint.
      this.paid = paid
      this.outcome = { output: validateOutput(template, paid.text, values), text: paid.text, where: 'network', paid }
    })
  }

  /** Loads the demo model into this browser's engine (the Models view offers every model). */
  async loadDemoModel(id = 'modelex-demo-tiny'): Promise<void> {
    await this.#guard(async () => {
      const record = DEMO_MODELS.find((m) => m.id === id)
      if (!record) throw new Error(`No demo model ${id}.`)
      const session = await this.#deps.engine()
      await session.load(record)
      if (session.status === 'error') throw new Error(session.error?.message ?? 'the model did not load')
    })
  }

  /** Checks the draft JSON, stores it, serves it from the app's peer when the network runs, and registers it when asked. */
  async publish({ register = false }: { register?: boolean } = {}): Promise<void> {
    this.publishError = null
    this.published = null
    try {
      const template = parseTemplate(this.draft)
      const store = this.#templates ?? this.#deps.templates()
      const id = await store.put(template)
      await this.#reloadStored()
      const served = await this.#serve()
      let registered: Hex | null = null
      let note: string | null = served
        ? null
        : 'Stored in this browser; not served: the network is not running (no deployment).'
      if (register) {
        const wallet = this.wallet?.client
        const router = this.deployment?.contracts.OracleRouter
        if (!wallet || !router) note = 'Not registered: connect a wallet on a deployment with an OracleRouter.'
        else {
          const { registerTemplate } = await import('../../chain/actions/registerTemplate.ts')
          registered = (await registerTemplate(wallet, { router, template })).transactionHash
        }
      }
      this.published = { id, served, registered, note }
      this.select(id)
    } catch (error) {
      this.publishError = errorOf(error)
    }
  }

  /** Fetches a template from a peer by hash (the hash is checked), and stores it. */
  async fetchFromPeer(peer: string, hash: string): Promise<void> {
    await this.#guard(async () => {
      const net = await this.#deps.network()
      await net.start()
      if (!net.node) throw new Error(net.error ?? 'the network node did not start')
      const { fetchTemplate } = await import('../../p2p/templates.ts')
      const template = await fetchTemplate(net.node, peer.trim(), hash.trim().toLowerCase() as Hex)
      if (!template) throw new Error('That peer does not have this template.')
      const id = await (this.#templates ?? this.#deps.templates()).put(template)
      await this.#reloadStored()
      this.select(id)
    })
  }

  async #serve(): Promise<boolean> {
    if (this.#stopServing) return true
    if (!this.deployment?.relay) return false
    const net = await this.#deps.network()
    await net.start()
    if (!net.node || !this.#templates) return false
    const { serveTemplates } = await import('../../p2p/templates.ts')
    const store = this.#templates
    // Built-ins are served too: any peer may ask for them by hash.
    const builtIns = BUILTIN_TEMPLATES.map((t) => ({ id: templateId(t), t }))
    this.#stopServing = await serveTemplates(net.node, {
      get: async (id) => builtIns.find((b) => b.id === id)?.t ?? (await store.get(id)),
    })
    return true
  }

  async #reloadStored(): Promise<void> {
    const stored = (await this.#templates?.list().catch(() => [])) ?? []
    const builtIn: readonly Hex[] = BUILTIN_TEMPLATES.map(templateId)
    this.entries = [
      ...BUILTIN_TEMPLATES.map((template) => ({ id: templateId(template), template, source: 'built-in' as const })),
      ...stored
        .filter((s) => !builtIn.includes(s.id))
        .map((s) => ({ id: s.id, template: s.template, source: 'stored' as const })),
    ]
  }

  /** The canonical JSON of the selected template: what its id hashes and what registering sends. */
  get canonical(): string {
    return canonicalJson(this.selected.template)
  }

  async #guard(work: () => Promise<void>): Promise<void> {
    this.busy = true
    this.error = null
    try {
      await work()
    } catch (error) {
      this.error = errorOf(error)
    } finally {
      this.busy = false
    }
  }
}

function withoutKind<R extends { kind: string }>(request: R): Omit<R, 'kind'> {
  const { kind, ...rest } = request
  void kind
  return rest
}
