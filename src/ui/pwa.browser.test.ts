/**
 * The app as a PWA, built and served like production: installable (manifest with 192/512/maskable PNG icons, a
 * service worker controlling the page, Chromium's own installability check), and after one online visit it starts
 * with the network off, and a model cached on that visit loads and answers.
 */
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { DEMO_MODELS } from '../core/models.ts'
import { launchChromium } from '../server/lib/chromium.ts'
import { readPngHeader } from '../server/lib/png.ts'

const TINY = DEMO_MODELS.find((m) => m.id === 'modelex-demo-tiny')!
let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

/** A fresh profile (no service worker, empty caches) with a page that records console errors. */
async function freshPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`)
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))
  return { context, page, errors }
}

/**
 * A loopback HTTP proxy to `target`; `rewrite(path, body)` may replace a text body (null: pass it through). Headers
 * (the COOP/COEP ones included) are passed on, so the app behaves as served directly.
 */
async function proxyTo(
  target: string,
  rewrite: (path: string, body: string) => string | null,
): Promise<{ url: string; close: () => Promise<void> }> {
  const upstream = new URL(target)
  const server = createServer((incoming, outgoing) => {
    // Plain bodies, and no conditional requests: a 304 for a body this proxy rewrites would say nothing changed.
    const {
      'if-none-match': _etag,
      'if-modified-since': _since,
      'accept-encoding': _encodings,
      ...headers
    } = incoming.headers
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: incoming.url,
        method: incoming.method,
        headers: { ...headers, host: upstream.host },
      },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          const body = Buffer.concat(chunks)
          const replaced = rewrite((incoming.url ?? '').split('?')[0] ?? '', body.toString('utf8'))
          const { 'content-length': _length, 'transfer-encoding': _encoding, ...passed } = response.headers
          outgoing.writeHead(response.statusCode ?? 502, passed)
          outgoing.end(replaced === null ? body : replaced)
        })
      },
    )
    forward.on('error', () => outgoing.writeHead(502).end())
    incoming.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Waits until a service worker is active and controls this page; returns its script URL. */
async function controlled(page: Page): Promise<string> {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 })
  return page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL ?? '')
}

/** The precache's URLs, from the Workbox cache this origin holds. */
async function precached(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const urls: string[] = []
    for (const name of await caches.keys())
      if (name.startsWith('workbox-precache'))
        for (const key of await (await caches.open(name)).keys()) urls.push(new URL(key.url).pathname)
    return urls
  })
}

describe('the app as a PWA', () => {
  test('installable: a valid manifest with 192, 512 and maskable PNG icons, and a service worker controlling the page', async () => {
    const { context, page, errors } = await freshPage()
    try {
      await page.goto(inject('appUrl'))
      expect(await controlled(page)).toMatch(/\/sw\.js$/)

      const href = await page.locator('link[rel=manifest]').getAttribute('href')
      expect(href).toBeTruthy()
      const manifest = (await (await page.request.get(new URL(href!, inject('appUrl')).href)).json()) as {
        name: string
        start_url: string
        display: string
        icons: { src: string; sizes: string; type: string; purpose?: string }[]
      }
      expect(manifest).toMatchObject({ name: 'Modelex', start_url: '/', display: 'standalone' })
      const pngs = manifest.icons.filter((icon) => icon.type === 'image/png')
      const sizesOf = (purpose: string) =>
        pngs.filter((icon) => (icon.purpose ?? 'any').split(' ').includes(purpose)).map((icon) => icon.sizes)
      expect(sizesOf('any')).toEqual(expect.arrayContaining(['192x192', '512x512']))
      expect(sizesOf('maskable')).toContain('512x512')
      // Each icon is a PNG of the size the manifest says.
      for (const icon of pngs) {
        const response = await page.request.get(new URL(icon.src, inject('appUrl')).href)
        expect(response.headers()['content-type']).toBe('image/png')
        const { width, height } = readPngHeader(await response.body())
        expect(`${width}x${height}`).toBe(icon.sizes)
      }

      // Chromium's own verdict, as its install prompt uses it. Playwright's contexts are off-the-record profiles,
      // where Chromium never offers to install anything: that one reason is the harness's, every other counts.
      const cdp = await context.newCDPSession(page)
      const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
        installabilityErrors: { errorId: string }[]
      }
      expect(installabilityErrors.map((error) => error.errorId).filter((id) => id !== 'in-incognito')).toEqual([])
      const parsed = (await cdp.send('Page.getAppManifest')) as { errors: { message: string; critical: number }[] }
      expect(parsed.errors).toEqual([])
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })

  test('precache: the app shell only, not models, not the big engine runtimes, not Pyodide', async () => {
    const { context, page } = await freshPage()
    try {
      await page.goto(inject('appUrl'))
      await controlled(page)
      await expect.poll(async () => (await precached(page)).length, { timeout: 60_000 }).toBeGreaterThan(10)
      const urls = await precached(page)
      expect(urls).toEqual(
        expect.arrayContaining([
          '/index.html',
          '/manifest.webmanifest',
          '/icon-192.png',
          '/icon-512.png',
          '/icon-maskable-512.png',
        ]),
      )
      // Every view's code is there, so every view opens offline.
      for (const view of ['Models', 'Chat', 'Code', 'Network', 'Node', 'Prompts', 'Evaluate'])
        expect(urls.some((url) => new RegExp(`^/assets/${view}-[\\w-]+\\.js$`).test(url))).toBe(true)
      expect(urls.filter((url) => /^\/models\/|^\/pyodide\/|\.wasm$|\.gguf$|\.map$/.test(url))).toEqual([])
    } finally {
      await context.close()
    }
  })

  test('after one online visit, with the network off, the app starts and a cached model answers', async () => {
    const { context, page, errors } = await freshPage()
    try {
      // Online: the first visit installs the service worker; loading the demo model caches it (and the engine).
      await page.goto(new URL('#/models', inject('appUrl')).href)
      await controlled(page)
      await page.getByTestId(`load-${TINY.id}`).click()
      await expect.poll(() => page.getByTestId('load-state').textContent(), { timeout: 60_000 }).toBe('ready')
      await expect.poll(() => page.locator(`tr[data-model="${TINY.id}"]`).textContent()).toMatch(/cached/)
      // The model was cached, so the app asked the browser to keep its storage, and says what the browser answered.
      const persisted = await page.evaluate(() => navigator.storage.persisted())
      await expect
        .poll(() => page.getByTestId('storage-persistence').getAttribute('data-state'))
        .toBe(persisted ? 'granted' : 'refused')
      // The model file is in the app's model cache, and the service worker keeps none of it.
      const caches = await page.evaluate(async () => {
        const out: Record<string, string[]> = {}
        for (const name of await globalThis.caches.keys())
          out[name] = (await (await globalThis.caches.open(name)).keys()).map(
            (request) => new URL(request.url).pathname,
          )
        return out
      })
      expect(caches['modelex-models-v2']?.some((path) => path.includes(TINY.contentHash!))).toBe(true)
      expect(
        Object.entries(caches).filter(
          ([name, paths]) => name !== 'modelex-models-v2' && paths.some((path) => path.startsWith('/models/')),
        ),
      ).toEqual([])
      // The llama.cpp runtime (wasm) is not precached but was cached on first use.
      expect(caches['modelex-assets']?.some((path) => path.endsWith('.wasm'))).toBe(true)

      // Offline: nothing reaches the server, for the page, its workers and the service worker alike.
      await context.setOffline(true)
      await context.route('**/*', (route) => route.abort('internetdisconnected'))
      expect(
        await page.evaluate(() =>
          fetch(`/index.html?probe=${Date.now()}`, { cache: 'no-store' }).then(
            () => 'reached',
            () => 'offline',
          ),
        ),
      ).toBe('offline')

      await page.reload()
      expect(await page.title()).toBe('Modelex')
      await expect.poll(() => page.getByTestId(`load-${TINY.id}`).isVisible(), { timeout: 30_000 }).toBe(true)
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true)
      await page.getByTestId(`load-${TINY.id}`).click()
      await expect.poll(() => page.getByTestId('load-state').textContent(), { timeout: 60_000 }).toBe('ready')
      expect(await page.getByTestId('loaded-hash').textContent()).toBe(TINY.contentHash)
      await page.getByTestId('prompt').fill('def add(a, b):')
      await page.getByTestId('run').click()
      await expect.poll(() => page.getByTestId('usage').textContent(), { timeout: 60_000 }).toMatch(/completion tokens/)
      expect((await page.getByTestId('output').textContent())?.length).toBeGreaterThan(0)

      // Another view opens offline too, from the precache.
      await page.goto(new URL('#/overview', inject('appUrl')).href)
      await expect.poll(() => page.getByTestId('cpu-threads').textContent(), { timeout: 30_000 }).toMatch(/^\d+$/)
      // Offline, the deployment file cannot be fetched: the Overview says so (an expected failed request, not an app error).
      expect(errors.filter((error) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(error))).toEqual([])
    } finally {
      await context.close()
    }
  })

  test('a new version waits for the user: "Reload to update" lets it take over and reloads into it', async () => {
    // The app through a loopback proxy that can serve the next build's service worker: the same one with one more
    // line, which answers which version it is (Playwright's routes do not see service worker script fetches).
    let next = false
    const proxy = await proxyTo(inject('appUrl'), (path, body) =>
      next && path === '/sw.js'
        ? `${body}\nself.addEventListener('message', (event) => { if (event.data === 'version?') event.source.postMessage('next') })\n`
        : null,
    )
    const { context, page, errors } = await freshPage()
    try {
      await page.goto(proxy.url)
      await controlled(page)
      await page.getByTestId('cpu-threads').waitFor({ timeout: 30_000 })
      next = true
      await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update())
      await page.getByTestId('pwa-update').waitFor({ timeout: 30_000 })
      // Until the user accepts, the running version keeps the page and the new one waits.
      expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting !== null)).toBe(
        true,
      )

      await Promise.all([page.waitForEvent('load', { timeout: 30_000 }), page.getByTestId('pwa-reload').click()])
      await controlled(page)
      const version = await page.evaluate(
        () =>
          new Promise<string>((resolve) => {
            navigator.serviceWorker.addEventListener('message', (event) => resolve(String(event.data)), { once: true })
            navigator.serviceWorker.controller?.postMessage('version?')
          }),
      )
      expect(version).toBe('next')
      expect(await page.getByTestId('pwa-update').count()).toBe(0)
      expect(errors).toEqual([])
    } finally {
      await context.close()
      await proxy.close()
    }
  })
})
