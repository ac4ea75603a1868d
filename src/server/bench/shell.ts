/**
 * `npm run bench:shell`: how much JavaScript the app makes a browser fetch before a model is chosen. Builds the
 * app into a temporary folder, serves it like production (`vite preview` with the COOP/COEP headers, no local
 * stack, so `/deployment.json` answers 204), opens it in headless Chromium with a fresh profile, waits for the
 * Overview to finish probing and for the network to go idle, and records every JavaScript response the page and
 * its workers asked the server for. Sizes are the gzip (level 9, node:zlib) of each fetched body, since `vite preview` does not
 * compress. Prints the fetched files, the largest source modules in them (rendered bytes from the build's chunk
 * list, grouped by package) and ends with `app shell: N KB gzip`.
 *
 * The service worker is blocked in those visits: what it precaches is downloaded in the background after the page
 * has loaded, not before it renders. One more visit lets it install and reports its precache apart (files and gzip
 * size), since that is what a first visit costs in data.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Browser, Page } from 'playwright-core'
import type { Plugin, PreviewServer, Rollup } from 'vite'
import { ensureChromium, launchChromium } from '../lib/chromium.ts'
import { freePort } from '../lib/ports.ts'

const KB = 1024
const kb = (bytes: number) => `${(bytes / KB).toFixed(1)} KB`
const TOP = 10
const VIEWS = ['models', 'network', 'node', 'chat', 'code'] as const

type Fetched = { file: string; raw: number; gzip: number }

/** `node_modules/.pnpm/x/node_modules/@scope/pkg/...` → `@scope/pkg`; our own files keep their path. */
function moduleGroup(id: string): string {
  const path = id.replace(/\\/g, '/').replace(/^\0/, '')
  const at = path.lastIndexOf('/node_modules/')
  if (at < 0) return path.replace(`${process.cwd().replace(/\\/g, '/')}/`, '').replace(/\?.*$/, '')
  const parts = path.slice(at + '/node_modules/'.length).split('/')
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? path)
}

async function main(): Promise<void> {
  ensureChromium()
  const vite = await import('vite')
  const outDir = await mkdtemp(join(tmpdir(), 'modelex-shell-'))
  let preview: PreviewServer | undefined
  let browser: Browser | undefined
  try {
    // No deployment file: the shell a visitor gets before any local stack or chain is involved.
    const deploymentFile = join(outDir, 'deployment.json')
    process.env['MODELEX_DEPLOYMENT_FILE'] = deploymentFile
    const output = (await vite.build({ logLevel: 'warn', build: { outDir, emptyOutDir: true } })) as
      Rollup.RollupOutput | Rollup.RollupOutput[]
    const chunks = new Map<string, Rollup.OutputChunk>()
    for (const bundle of Array.isArray(output) ? output : [output]) {
      for (const item of bundle.output) if (item.type === 'chunk') chunks.set(item.fileName, item)
    }

    // Every request the server answers, page and workers alike (Playwright does not report dedicated workers').
    const requested = new Set<string>()
    const recordRequests: Plugin = {
      name: 'modelex-bench-shell-requests',
      configurePreviewServer: (server) => {
        server.middlewares.use((req, _res, next) => {
          requested.add(decodeURIComponent((req.url ?? '').split('?')[0] ?? ''))
          next()
        })
      },
    }
    const port = await freePort()
    preview = await vite.preview({
      logLevel: 'warn',
      plugins: [recordRequests],
      build: { outDir },
      preview: { port, strictPort: true, open: false },
    })
    const url = `http://127.0.0.1:${port}/`

    browser = await launchChromium()
    const jsFetched = async (): Promise<Fetched[]> => {
      const files: Fetched[] = []
      for (const path of requested) {
        if (!path.endsWith('.js') && !path.endsWith('.mjs')) continue
        const body = await readFile(join(outDir, path)).catch(() => null)
        if (body)
          files.push({
            file: path.replace(/^\//, ''),
            raw: body.byteLength,
            gzip: gzipSync(body, { level: 9 }).byteLength,
          })
      }
      return files.sort((a, b) => b.gzip - a.gzip)
    }
    /** Opens `url` in a fresh context (empty caches), waits for `ready` and an idle network, returns the JS fetched. */
    const visit = async (target: string, ready: (page: Page) => Promise<unknown>): Promise<Fetched[]> => {
      requested.clear()
      const context = await browser!.newContext({ serviceWorkers: 'block' })
      try {
        const page = await context.newPage()
        await page.goto(target, { timeout: 30_000 })
        await ready(page)
        await page.waitForLoadState('networkidle', { timeout: 30_000 })
        return await jsFetched()
      } finally {
        await context.close()
      }
    }

    const unique = await visit(url, async (page) => {
      await page.getByTestId('webgpu-state').waitFor({ timeout: 30_000 })
      await page.getByTestId('cpu-threads').waitFor({ timeout: 30_000 })
      await page
        .getByText(/No network configured|connecting to|chain \d+/)
        .first()
        .waitFor({ timeout: 30_000 })
    })
    const total = unique.reduce((sum, item) => sum + item.gzip, 0)
    const shellFiles = new Set(unique.map((item) => item.file))

    // Each other view opened directly, for what its first visit adds on top of the shell.
    const viewLines: string[] = []
    for (const view of VIEWS) {
      const files = await visit(`${url}#/${view}`, (page) =>
        page.waitForFunction(
          () =>
            !document.querySelector('[data-testid=view-loading]') &&
            (document.querySelector('main')?.childElementCount ?? 0) > 0,
          undefined,
          { timeout: 30_000 },
        ),
      )
      const added = files.filter((item) => !shellFiles.has(item.file))
      const largest = added[0] ? `, largest ${added[0].file} ${kb(added[0].gzip)}` : ''
      viewLines.push(
        `  #/${view.padEnd(8)} +${kb(added.reduce((sum, item) => sum + item.gzip, 0)).padStart(9)} gzip in ${added.length} files${largest}`,
      )
    }

    // The same Overview with a local stack's deployment file (its RPC on a closed port): viem comes with the
    // chain status, after the shell.
    await writeFile(
      deploymentFile,
      JSON.stringify({
        version: 1,
        chainId: 31337,
        rpcUrl: `http://127.0.0.1:${await freePort()}`,
        startBlock: 0,
        contracts: {},
        relay: null,
      }),
    )
    const withDeployment = (
      await visit(url, (page) =>
        page
          .getByTestId('chain')
          .getByText(/unreachable|chain \d+/)
          .waitFor({ timeout: 30_000 }),
      )
    ).filter((item) => !shellFiles.has(item.file))

    // The service worker's install: everything it precaches, fetched after the page loaded.
    requested.clear()
    const swContext = await browser.newContext()
    let precache: { files: number; gzip: number; js: number }
    try {
      const page = await swContext.newPage()
      await page.goto(url, { timeout: 30_000 })
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 })
      const paths = await page.evaluate(async () => {
        const out: string[] = []
        for (const name of await caches.keys())
          if (name.startsWith('workbox-precache'))
            for (const key of await (await caches.open(name)).keys()) out.push(new URL(key.url).pathname)
        return out
      })
      let gzip = 0
      let js = 0
      for (const path of paths) {
        const body = await readFile(join(outDir, path)).catch(() => null)
        if (!body) continue
        const size = gzipSync(body, { level: 9 }).byteLength
        gzip += size
        if (path.endsWith('.js')) js += size
      }
      precache = { files: paths.length, gzip, js }
    } finally {
      await swContext.close()
    }

    console.log(
      `JavaScript fetched by ${url} until the Overview rendered and the network went idle (gzip -9 of each body):`,
    )
    for (const item of unique.slice(0, TOP))
      console.log(`  ${kb(item.gzip).padStart(10)} gzip ${kb(item.raw).padStart(10)} raw  ${item.file}`)
    if (unique.length > TOP) console.log(`  … and ${unique.length - TOP} smaller files`)

    const groups = new Map<string, number>()
    for (const item of unique) {
      const chunk = chunks.get(item.file)
      for (const [id, info] of Object.entries(chunk?.modules ?? {})) {
        const group = moduleGroup(id)
        groups.set(group, (groups.get(group) ?? 0) + info.renderedLength)
      }
    }
    console.log(
      `Largest modules in those files (bytes as rendered into the chunks, before minification; by package or source file):`,
    )
    for (const [group, bytes] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, TOP))
      console.log(`  ${kb(bytes).padStart(10)}  ${group}`)
    console.log(
      `With a deployment file, the Overview's chain status adds +${kb(withDeployment.reduce((sum, item) => sum + item.gzip, 0))} gzip in ${withDeployment.length} files (viem's public client).`,
    )
    console.log(`JavaScript a first visit to each other view adds (fresh profile, opened directly at its address):`)
    for (const line of viewLines) console.log(line)
    console.log(`Shell: ${unique.length} JavaScript files, ${kb(unique.reduce((sum, item) => sum + item.raw, 0))} raw.`)
    console.log(
      `Service worker precache (fetched in the background after the first load, so every view starts offline): ${precache.files} files, ${kb(precache.gzip)} gzip, of which JavaScript ${kb(precache.js)}; engine runtimes, Pyodide and models are cached on first use instead.`,
    )
    console.log(`app shell: ${Math.round(total / KB)} KB gzip`)
  } finally {
    await browser?.close()
    await preview?.close()
    await rm(outDir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
