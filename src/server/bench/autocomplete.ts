/**
 * `npm run bench:autocomplete`: completion latency as someone typing sees it. Real Python files from the HumanEval
 * set (`data/`, MIT) are typed keystroke by keystroke, a function body each, with a seeded human rhythm (a key every
 * 80–250 ms, 0.3–1.2 s more at line ends, Enter brings the indentation), through the editor's own controller in a
 * headless Chromium page: debounced like the editor, each request cancelled as the user types on, the stop rules
 * cutting the stream. The WebAssembly engine runs `modelex-demo-30m` in its worker, once with KV prefix reuse (the
 * Code view's setting) and once without, session by session, alternating which goes first. Then the same sessions
 * typed in Node against a paid node through the SDK's prepay path (real relay, real anvil, the provider service
 * with the same WebAssembly engine in another page of the same browser), twice: reproducible (seeded: the node
 * prefills every prompt from scratch, so its receipts can be re-run bit for bit) and `reproducible: false` (the Code
 * view's paid suggestions: no seed, so the node reuses its cache of this consumer's previous prompt).
 *
 * Each session starts as the user places the cursor and waits for a first suggestion (the file's cold start, shown
 * apart; the slot's cache is emptied before each session, but llama.cpp's server seems to keep earlier prompts'
 * states in memory too and to restore one when reuse is on: a session typed with reuse after its run without has
 * started warm),
 * then types. Time to first token (TTFT) runs from the
 * request (after the debounce) to its first text; the shown suggestion from the keystroke to the ghost text. A request cancelled before its first token, or a pause the user ended before a
 * suggestion showed, only says the wait was longer: such waits are counted as cut off and the percentiles are
 * Kaplan–Meier estimates (`core/typing.ts`), so slow modes are not flattered by keeping only their fast requests.
 * `--no-paid` skips the network part, `--paid-only` the local typing; `--json <file>` writes every replayed request
 * and pause. The paid part is bounded (`PAID_DEADLINE_MS`): past it the bench says where it stood and stops it.
 */
import '../lib/node-shims.ts'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { Browser, Page } from 'playwright-core'
import { createWalletClient, http, parseEther, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { replayTyping, type ReplayResult } from '../../autocomplete/typing-replay.ts'
import { ENGINE_SOURCE_DEFAULTS, paidCompletionSource } from '../../autocomplete/sources.ts'
import { createClient, type ModelexClient } from '../../client/index.ts'
import type { Deployment } from '../../core/deployment.ts'
import type { Attempt } from '../../core/errors/index.ts'
import { EVAL_SET_FILES, parseProblems, type EvalProblem } from '../../core/eval.ts'
import { LOCAL_FIM_BUDGET, fimFormatFor } from '../../core/fim.ts'
import { DEMO_MODELS } from '../../core/models.ts'
import {
  latencyQuantile,
  sessionDurationMs,
  typingKeys,
  type LatencySample,
  type TypingSession,
} from '../../core/typing.ts'
import { fundAccount, startPaidProvider, type PaidProvider } from '../../node/testing.ts'
import { memoryStore } from '../../store/payments.ts'
import { createPageEngine } from '../../verify/page-engine.ts'
import { ensureChromium, launchChromium } from '../lib/chromium.ts'
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.ts'
import { startLocalChain } from '../lib/local-chain.ts'
import { ensureDemoModels } from '../programs/model-demo.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'

const MODEL = 'modelex-demo-30m'
const MAX_TOKENS = 64
const FINAL_PAUSE_MS = 3_000
const SEED = 15

/**
 * The sessions: the function body of `task` typed after its imports, signature and docstring, in a file that holds,
 * where `next` is given, the problem after it (so there is text after the cursor).
 */
const SESSIONS: { task: string; next: string | null }[] = [
  { task: 'HumanEval/3', next: 'HumanEval/4' },
  { task: 'HumanEval/14', next: null },
  { task: 'HumanEval/31', next: 'HumanEval/32' },
]

export function typingSessions(problems: readonly EvalProblem[], seed = SEED): TypingSession[] {
  const byId = new Map(problems.map((p) => [p.task_id, p]))
  const problem = (id: string) =>
    byId.get(id) ??
    (() => {
      throw new Error(`no problem ${id} in the data set`)
    })()
  return SESSIONS.map(({ task, next }, index) => {
    const current = problem(task)
    const following = next ? problem(next) : null
    return {
      name: `${task} (${following ? `${following.task_id} after it` : 'end of file'})`,
      before: current.prompt,
      after: following ? `\n\n${following.prompt}${following.canonical_solution}` : '',
      keys: typingKeys(current.canonical_solution, seed + index),
    }
  })
}

async function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  const result = (await page.evaluate(
    ([m, a]) =>
      (window as unknown as { fixture: Record<string, (...x: unknown[]) => unknown> }).fixture[m as string]!(
        ...(a as unknown[]),
      ),
    [method, args] as const,
  )) as Attempt<T>
  if (!result.ok) throw new Error(`${result.error.name}: ${result.error.message}`)
  return result.value
}

type Mode = 'reuse' | 'fresh' | 'paid' | 'paidReuse'
type Figures = {
  ttft: LatencySample[]
  shown: LatencySample[]
  requests: number
  cutBeforeFirst: number
  errors: string[]
  keys: number
  shownCached: number
  coldMs: number[]
}

/** The typing figures; the opening request of each session (the file's cold start) is reported on its own. */
function figures(results: readonly ReplayResult[]): Figures {
  const out: Figures = {
    ttft: [],
    shown: [],
    requests: 0,
    cutBeforeFirst: 0,
    errors: [],
    keys: 0,
    shownCached: 0,
    coldMs: [],
  }
  for (const result of results) {
    if (result.opening) out.coldMs.push(result.opening.firstTextMs ?? result.opening.endMs)
    if (result.opening?.error) out.errors.push(`opening request: ${result.opening.error}`)
    out.keys += result.keys
    for (const r of result.requests) {
      out.requests++
      if (r.error) out.errors.push(r.error)
      else if (r.firstTextMs !== null) out.ttft.push({ ms: r.firstTextMs, observed: true })
      else if (r.cancelledMs !== null) {
        out.cutBeforeFirst++
        out.ttft.push({ ms: r.cancelledMs, observed: false })
      } else out.ttft.push({ ms: r.endMs, observed: true }) // an empty middle, known when the request ended
    }
    for (const p of result.pauses) {
      out.shown.push(p.shownMs === null ? { ms: p.waitedMs, observed: false } : { ms: p.shownMs, observed: true })
      if (p.shownMs !== null && p.cached) out.shownCached++
    }
  }
  return out
}

const quantile = (samples: readonly LatencySample[], q: number) => {
  const value = latencyQuantile(samples, q)
  if (value !== null) return `${value.toFixed(0)} ms`
  // Too many waits cut off to tell: all that is known is that it is longer than the longest wait seen.
  return `>${Math.max(0, ...samples.map((s) => s.ms)).toFixed(0)} ms`
}

function report(label: string, f: Figures): void {
  console.log(`  ${label}`)
  console.log(
    `    cold start             first token of the request at the cursor before typing: ${f.coldMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} (sessions in order)`,
  )
  console.log(
    `    time to first token    p50 ${quantile(f.ttft, 0.5).padStart(9)}  p95 ${quantile(f.ttft, 0.95).padStart(9)}   (${f.requests} requests, ${f.cutBeforeFirst} cancelled before their first token${f.errors.length ? `, ${f.errors.length} FAILED` : ''})`,
  )
  console.log(
    `    shown suggestion       p50 ${quantile(f.shown, 0.5).padStart(9)}  p95 ${quantile(f.shown, 0.95).padStart(9)}   (from the keystroke, debounce included; ${f.shown.filter((s) => s.observed).length} of ${f.shown.length} pauses showed one, ${f.shownCached} from the completion cache)`,
  )
  if (f.errors.length)
    console.log(
      `    failures: ${[...new Set(f.errors.map((e) => e.replace(/\s*\n+\s*/g, ' ')))].slice(0, 5).join(' | ')}`,
    )
}

const ISOLATED = 3

type Isolated = { firstTextMs: number | null; totalMs: number; error?: string }
type PaidRun = { replays: ReplayResult[]; reuseReplays: ReplayResult[]; isolated: Isolated[] }

/** Where the isolated requests ask: the end of each session's typing, as one request at a quiet moment. */
const isolatedSpots = (sessions: readonly TypingSession[]) =>
  Array.from({ length: ISOLATED }, (_, i) => {
    const session = sessions[i % sessions.length] as TypingSession
    return { prefix: session.before + session.keys.map((k) => k.text).join(''), suffix: session.after }
  })

/** The paid part's bound: past it, the bench reports where it stood and goes on without paid figures. */
const PAID_DEADLINE_MS = 900_000

type PaidProgress = { step: string; stop?: () => Promise<void> }

async function paidReplays(
  browser: Browser,
  fixtures: FixtureServer,
  sessions: readonly TypingSession[],
  log: (line: string) => void,
  progress: PaidProgress,
): Promise<PaidRun> {
  const dir = await mkdtemp(join(tmpdir(), 'modelex-bench-autocomplete-'))
  const { anvil, chain } = await startLocalChain({ port: await freePort() })
  let relay: RelayProcess | undefined
  let provider: PaidProvider | undefined
  let client: ModelexClient | undefined
  const engine = await createPageEngine({ browser, baseUrl: fixtures.url })
  // Called at the end, or by the caller when the part overran its deadline: every process started here is stopped.
  let stopping: Promise<void> | null = null
  const stop = () =>
    (stopping ??= (async () => {
      await client?.stop().catch(() => {})
      await provider?.stop().catch(() => {})
      await engine.close().catch(() => {})
      await relay?.process.stop()
      await anvil.stop()
      await rm(dir, { recursive: true, force: true })
    })())
  progress.stop = stop
  try {
    progress.step = 'starting the relay'
    relay = await startRelayProcess({ port: await freePort(), keyFile: join(dir, 'relay.key') })
    const deployment: Deployment = { ...chain, relay: relay.multiaddr }
    const record = DEMO_MODELS.find((m) => m.id === MODEL)
    if (!record) throw new Error(`${MODEL} is not a demo model`)
    progress.step = "loading the node's engine"
    const loaded = await engine.load(record)
    progress.step = 'registering the provider'
    provider = await startPaidProvider({ deployment, relay: relay.multiaddr, engine, maxReceipts: 10_000 })
    const account = privateKeyToAccount(generatePrivateKey())
    await fundAccount(deployment, account.address, parseEther('100'))
    const wallet = createWalletClient({ account, transport: http(deployment.rpcUrl), pollingInterval: 50 })
    client = createClient({
      deployment,
      wallet,
      store: memoryStore(),
      relay: relay.multiaddr,
      prepay: true,
      models: [{ id: MODEL, contentHash: loaded.contentHash as Hex }],
      channelDeposit: parseEther('1'),
    })
    const node = provider.node.peerId.toString()
    const format = fimFormatFor(record)
    const source = paidCompletionSource(client, { model: MODEL, node, ...(format ? { format } : {}) })
    // Opens the channel on-chain (once per node), which is not what a keystroke costs.
    progress.step = 'the first paid request (finds the node, opens the channel)'
    const warm = await source.complete({
      prefix: 'def warm_up(x):\n    ',
      suffix: '\n',
      maxTokens: 4,
      signal: AbortSignal.timeout(120_000),
    })
    if (warm.finish_reason === 'abort') throw new Error('the first paid request got no answer in 120 s')
    progress.step = 'typing against the paid node'
    log(`paid: provider ${node.slice(0, 12)}… registered on anvil, channel open, prepay path`)
    const replays: ReplayResult[] = []
    for (const session of sessions)
      replays.push(await replayTyping(session, { source, maxTokens: MAX_TOKENS, finalPauseMs: FINAL_PAUSE_MS }))
    // The same typing with `reproducible: false`: no seed, so the node reuses its KV cache of this consumer's
    // previous prompt, and the windows move in steps (the Code view's paid suggestions).
    const fast = paidCompletionSource(client, {
      model: MODEL,
      node,
      reproducible: false,
      ...(format ? { format } : {}),
    })
    const reuseReplays: ReplayResult[] = []
    progress.step = 'typing against the paid node, node-side reuse'
    for (const session of sessions)
      reuseReplays.push(
        await replayTyping(session, { source: fast, maxTokens: MAX_TOKENS, finalPauseMs: FINAL_PAUSE_MS }),
      )
    // One request at a time, nothing cancelled: what the network and the payment add to the node's own run.
    const isolated: Isolated[] = []
    for (const spot of isolatedSpots(sessions)) {
      const started = performance.now()
      let firstTextMs: number | null = null
      try {
        await source.complete({
          ...spot,
          maxTokens: MAX_TOKENS,
          signal: new AbortController().signal,
          onText: (text) => (firstTextMs ??= text ? performance.now() - started : null),
        })
        isolated.push({ firstTextMs, totalMs: performance.now() - started })
      } catch (error) {
        isolated.push({
          firstTextMs,
          totalMs: performance.now() - started,
          error: error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error),
        })
      }
    }
    return { replays, reuseReplays, isolated }
  } finally {
    await stop()
  }
}

async function main(): Promise<void> {
  const paid = !process.argv.includes('--no-paid')
  const log = (line: string) => console.log(line)
  await ensureDemoModels({ names: [MODEL], log })
  ensureChromium(log)
  const problems = parseProblems(
    gunzipSync(await readFile(resolve(import.meta.dirname, '../../../data', EVAL_SET_FILES.humaneval))).toString(
      'utf8',
    ),
  )
  const sessions = typingSessions(problems)
  const typingMs = sessions.reduce((s, x) => s + sessionDurationMs(x) + FINAL_PAUSE_MS, 0)
  log(
    `${sessions.length} sessions, ${sessions.reduce((s, x) => s + x.keys.length, 0)} keystrokes, ${(typingMs / 1000).toFixed(0)} s of typing per mode (${paid ? 3 : 2} modes)`,
  )

  const fixtures = await startFixtureServer()
  const browser = await launchChromium()
  try {
    const page = await browser.newPage()
    await page.goto(new URL('src/autocomplete/fixtures/typing.html', fixtures.url).toString())
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 180_000 })
    const loaded = await call<{ ms: number; loaded: { threads?: number } }>(page, 'load', MODEL)
    log(
      `local: ${MODEL} loaded in the WebAssembly engine (${loaded.loaded.threads ?? 1} thread) in ${(loaded.ms / 1000).toFixed(1)} s`,
    )
    await call(page, 'warm')

    const local: Record<'reuse' | 'fresh', ReplayResult[]> = { reuse: [], fresh: [] }
    for (const [index, session] of (process.argv.includes('--paid-only') ? [] : sessions).entries()) {
      const order: ('reuse' | 'fresh')[] = index % 2 === 0 ? ['reuse', 'fresh'] : ['fresh', 'reuse']
      for (const mode of order) {
        const result = await call<ReplayResult>(page, 'replay', session, {
          reusePrefix: mode === 'reuse',
          maxTokens: MAX_TOKENS,
          finalPauseMs: FINAL_PAUSE_MS,
        })
        local[mode].push(result)
        log(
          `  typed ${session.name} ${mode === 'reuse' ? 'with' : 'without'} reuse: ${result.keys} keys, ${result.requests.length} requests, ${(result.durationMs / 1000).toFixed(1)} s`,
        )
      }
    }
    const json = process.argv.indexOf('--json')
    if (json !== -1 && process.argv[json + 1])
      await writeFile(
        process.argv[json + 1] as string,
        JSON.stringify({ local, sessions: sessions.map((x) => x.name) }, null, 1),
      )
    const byMode: Partial<Record<Mode, Figures>> = { reuse: figures(local.reuse), fresh: figures(local.fresh) }
    const reuse = byMode.reuse as Figures
    const fresh = byMode.fresh as Figures
    console.log(
      `\nautocomplete while typing, ${MODEL} (random weights: its suggestions mean nothing, their timing is real), ${sessions.length} HumanEval function bodies typed key by key, debounce 150 ms, up to ${MAX_TOKENS} tokens, FIM window ${LOCAL_FIM_BUDGET.maxPrefixChars}/${LOCAL_FIM_BUDGET.maxSuffixChars} chars (prefix start in ${LOCAL_FIM_BUDGET.prefixStepChars}-char steps, suffix as long as the measured prefill speed affords in ${ENGINE_SOURCE_DEFAULTS.suffixLatencyMs} ms):`,
    )
    report('local WebAssembly engine, KV prefix reuse (the Code view):', reuse)
    report('local WebAssembly engine, every prompt from scratch:', fresh)
    let isolated: { paid: Isolated[]; local: Isolated[] } | null = null
    let run: PaidRun | null = null
    if (paid) {
      const progress: PaidProgress = { step: 'starting' }
      let timer: ReturnType<typeof setTimeout> | undefined
      const deadline = new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(
            () => reject(new Error(`the paid part took over ${PAID_DEADLINE_MS / 1000} s, at: ${progress.step}`)),
            PAID_DEADLINE_MS,
          )),
      )
      run = await Promise.race([paidReplays(browser, fixtures, sessions, log, progress), deadline])
        .catch(async (error: unknown) => {
          console.log(`paid: FAILED (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`)
          await progress.stop?.()
          return null
        })
        .finally(() => clearTimeout(timer))
    }
    if (paid && run) {
      for (const result of run.replays)
        log(
          `  typed ${result.session} against the paid node: ${result.keys} keys, ${result.requests.length} requests, ${(result.durationMs / 1000).toFixed(1)} s`,
        )
      for (const result of run.reuseReplays)
        log(
          `  typed ${result.session} against the paid node, reproducible: false: ${result.keys} keys, ${result.requests.length} requests, ${(result.durationMs / 1000).toFixed(1)} s`,
        )
      byMode.paid = figures(run.replays)
      byMode.paidReuse = figures(run.reuseReplays)
      const local: Isolated[] = []
      for (const spot of isolatedSpots(sessions))
        local.push(await call<Isolated>(page, 'once', spot.prefix, spot.suffix, MAX_TOKENS))
      isolated = { paid: run.isolated, local }
    }

    if (byMode.paid) {
      report(
        'paid node through the relay (SDK prepay path, same engine on the node, no reuse: receipts stay reproducible):',
        byMode.paid,
      )
      if (isolated) {
        const firsts = (list: Isolated[]) =>
          list
            .map((x) =>
              x.error ? `failed (${x.error})` : x.firstTextMs === null ? 'none' : `${x.firstTextMs.toFixed(0)}`,
            )
            .join(', ')
        console.log(
          `  one request at a quiet moment, same ${ISOLATED} spots, the paid source's windows, no reuse: first token paid ${firsts(isolated.paid)} ms vs the same engine in this tab ${firsts(isolated.local)} ms`,
        )
      }
      const paidReuse = byMode.paidReuse as Figures
      report(
        'paid node through the relay, reproducible: false (no seed: the node reuses its cache of this consumer’s previous prompt; the Code view):',
        paidReuse,
      )
      console.log(
        `paid FIM TTFT p50 while typing: ${quantile(paidReuse.ttft, 0.5)} with node-side reuse, ${quantile(byMode.paid.ttft, 0.5)} reproducible (local with reuse: ${quantile(reuse.ttft, 0.5)}, local without: ${quantile(fresh.ttft, 0.5)})`,
      )
    }
    console.log(
      `(p50 of the requests sent while typing, after each file's opening request; cut-off waits counted as such)`,
    )
    console.log(`FIM TTFT p50 with reuse: ${quantile(reuse.ttft, 0.5)} (without: ${quantile(fresh.ttft, 0.5)})`)
  } finally {
    await browser.close().catch(() => {})
    await fixtures.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error))
      process.exit(1)
    },
  )
}
