/**
 * The real local coder node for Node programs (the evaluation harness's `--target local` and the autocomplete
 * benchmark): a Vite dev server for the fixture page on 127.0.0.1, headless Chromium, and the page
 * `src/autocomplete/fixtures/coder-node.html`, which runs the WebAssembly engine in a worker with the editor's
 * completion source. A GGUF file of one's own can be served in place of the catalog's download.
 */
import { basename, dirname, resolve } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import type { ViteDevServer } from 'vite'
import type { Attempt } from '../../core/errors/index.ts'
import type { StopRule } from '../../core/stop-rules.ts'
import { ensureChromium, launchChromium } from '../lib/chromium.ts'
import { DEFAULT_MODELS_DIR } from '../programs/model-demo.ts'
import { freePort } from '../lib/ports.ts'

const root = resolve(import.meta.dirname, '../../..')

export type LocalCompletion = {
  raw: string
  text: string
  firstTokenMs: number
  totalMs: number
  stoppedByRule: boolean
  usage: { prompt_tokens: number; completion_tokens: number } | null
}

export type LocalCoder = {
  model: string
  page: Page
  complete(request: {
    prefix: string
    suffix: string
    maxTokens: number
    rule?: StopRule | 'none'
  }): Promise<LocalCompletion>
  close(): Promise<void>
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

export type StartLocalCoderParameters = {
  /** A model id of the WebAssembly catalog (a coder: it needs a FIM format). */
  model: string
  /** A GGUF file on this machine to load instead of the catalog's source (its hash is not checked). */
  modelFile?: string
  log?: (line: string) => void
}

export async function startLocalCoder({
  model,
  modelFile,
  log = () => {},
}: StartLocalCoderParameters): Promise<LocalCoder> {
  ensureChromium(log)
  // The dev server serves /models/ from this folder (vite.config.ts reads it when the server starts).
  process.env['MODELEX_MODELS_DIR'] = modelFile
    ? dirname(resolve(modelFile))
    : (process.env['MODELEX_MODELS_DIR'] ?? DEFAULT_MODELS_DIR)
  const vite = await import('vite')
  const port = await freePort()
  let server: ViteDevServer | undefined
  let browser: Browser | undefined
  try {
    server = await vite.createServer({
      root,
      configFile: resolve(root, 'vite.config.ts'),
      logLevel: 'warn',
      server: { port, strictPort: true, hmr: false, watch: null },
    })
    await server.listen()
    browser = await launchChromium()
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${port}/src/autocomplete/fixtures/coder-node.html`)
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 })
    const override = modelFile ? { source: `/models/${basename(modelFile)}`, contentHash: null } : {}
    const loaded = await call<{ ms: number }>(page, 'load', model, override)
    log(`local: ${model} loaded in the WebAssembly engine in ${(loaded.ms / 1000).toFixed(1)} s`)
    const opened = { server, browser }
    return {
      model,
      page,
      complete: (request) => call<LocalCompletion>(page, 'complete', request),
      async close() {
        await opened.browser.close().catch(() => {})
        await opened.server.close()
      },
    }
  } catch (error) {
    await browser?.close().catch(() => {})
    await server?.close()
    throw error
  }
}
