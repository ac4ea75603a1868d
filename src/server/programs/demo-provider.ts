/**
 * The local stack's demo provider: a headless Chromium that opens the built app's Node view with
 * `#/node?autostart=1&model=…`, so the app itself loads the generated demo model with its WebAssembly engine,
 * connects the devnet burner wallet, registers, stakes and goes online. A newcomer who opens the stack's URL can
 * send a paid prompt at once. Stopped with the stack (the browser is closed, its process tree ends with it).
 */
import { chromium, type Browser, type Page } from 'playwright-core'
import { BASE_FLAGS, ensureChromium } from '../lib/chromium.ts'

export type DemoProviderParameters = {
  /** The app's URL (the stack's one URL). */
  url: string
  model?: string
  /** Anchor every N receipts (the Node view's default otherwise). */
  batch?: number
  timeoutMs?: number
  log?: (line: string) => void
  /** Reuse a running browser (tests) instead of launching one. */
  browser?: Browser
}

export type DemoProvider = { page: Page; peerId: string; operator: string; stop(): Promise<void> }

export async function startDemoProvider({
  url,
  model = 'modelex-demo-30m',
  batch,
  timeoutMs = 180_000,
  log = () => {},
  browser,
}: DemoProviderParameters): Promise<DemoProvider> {
  let owned: Browser | undefined
  if (!browser) {
    // Launched here rather than through launchChromium: the stack handles Ctrl-C itself (stopping this browser
    // with everything else and exiting 0); Playwright's own signal handlers would exit with 130 first.
    owned = await chromium.launch({
      executablePath: ensureChromium(log),
      headless: true,
      args: [...BASE_FLAGS],
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    })
  }
  const b = (browser ?? owned) as Browser
  try {
    const page = await b.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    const query = new URLSearchParams({ autostart: '1', model, ...(batch ? { batch: String(batch) } : {}) })
    await page.goto(new URL(`#/node?${query.toString()}`, url).toString())
    const online = page.getByTestId('node-online')
    const failed = page.getByTestId('node-error')
    await Promise.race([
      online.waitFor({ timeout: timeoutMs }),
      failed.waitFor({ timeout: timeoutMs }).then(async () => {
        throw new Error(`the demo provider did not go online: ${await failed.textContent()}`)
      }),
    ]).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}${errors.length ? ` (page errors: ${errors.join('; ')})` : ''}`)
    })
    const peerId = (await page.getByTestId('node-peer-id').textContent()) ?? ''
    const operator = (await page.getByTestId('wallet-address').textContent()) ?? ''
    return {
      page,
      peerId,
      operator,
      async stop() {
        await page.close().catch(() => {})
        await owned?.close().catch(() => {})
      },
    }
  } catch (error) {
    await owned?.close().catch(() => {})
    throw error
  }
}
