import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import type { Connect, Plugin } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'
import { defineConfig } from 'vitest/config'

/**
 * Cross-origin isolation lets the CPU engine use threads (SharedArrayBuffer); every server of the app sends
 * these headers, the dev server, `vite preview` and the local stack alike.
 */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
}

export const DEFAULT_DEPLOYMENT_FILE = '.modelex/deployment.json'
export const DEFAULT_MODELS_DIR = '.modelex/models'

/** Serves generated model files (`npm run model:demo`) at `/models/<file>` without copying them into builds. */
function modelFiles(): Plugin {
  const dir = resolve(process.env['MODELEX_MODELS_DIR'] ?? DEFAULT_MODELS_DIR)
  const serve: Connect.NextHandleFunction = (req, res, next) => {
    const path = req.url?.split('?')[0] ?? ''
    if (!path.startsWith('/models/')) return next()
    const file = join(dir, basename(decodeURIComponent(path.slice('/models/'.length))))
    stat(file).then(
      (info) => {
        res.statusCode = 200
        res.setHeader('Content-Type', 'application/octet-stream')
        res.setHeader('Content-Length', String(info.size))
        res.setHeader('Cache-Control', 'no-cache')
        for (const [name, value] of Object.entries(isolationHeaders)) res.setHeader(name, value)
        createReadStream(file).pipe(res)
      },
      () => {
        res.statusCode = 404
        res.end(`No model file ${basename(file)} in ${dir}: run npm run model:demo.`)
      },
    )
  }
  const attach = (server: { middlewares: Connect.Server }) => {
    server.middlewares.use(serve)
  }
  return { name: 'modelex-model-files', configureServer: attach, configurePreviewServer: attach }
}

/** Serves `/deployment.json` from the file the local stack writes, so the built app needs no rebuild per stack. */
function deploymentFile(): Plugin {
  const file = resolve(process.env['MODELEX_DEPLOYMENT_FILE'] ?? DEFAULT_DEPLOYMENT_FILE)
  const serve: Connect.NextHandleFunction = (req, res, next) => {
    if (req.url?.split('?')[0] !== '/deployment.json') return next()
    const send = (status: number, body: string) => {
      res.statusCode = status
      res.setHeader('Content-Type', 'application/json')
      res.setHeader('Cache-Control', 'no-store')
      res.end(body)
    }
    readFile(file, 'utf8').then(
      (body) => send(200, body),
      // 204, not 404: an app served without a local stack is a normal state, not an error to log.
      () => {
        res.statusCode = 204
        res.setHeader('Cache-Control', 'no-store')
        res.end()
      },
    )
  }
  const attach = (server: { middlewares: Connect.Server }) => {
    server.middlewares.use(serve)
  }
  return { name: 'modelex-deployment-file', configureServer: attach, configurePreviewServer: attach }
}

/** Where the app serves Pyodide (the Evaluate view's Python worker loads it from there). */
export const PYODIDE_PATH = '/pyodide/'
/** The files Pyodide needs to start with its standard library, from the npm package (offline: no CDN). */
const PYODIDE_FILES = ['pyodide.mjs', 'pyodide.asm.mjs', 'pyodide.asm.wasm', 'python_stdlib.zip', 'pyodide-lock.json']

/**
 * Serves Pyodide's runtime files at `/pyodide/` (dev server) and copies them into builds. The worker imports
 * `pyodide.mjs` from there at run time instead of bundling it: it carries Node-only imports (`ws`, `node:fs`) behind
 * runtime checks, and it finds its wasm and standard library next to itself. Only the Evaluate view fetches them.
 */
function pyodideFiles(): Plugin {
  const dir = dirname(createRequire(import.meta.url).resolve('pyodide/package.json'))
  const types: Record<string, string> = {
    '.mjs': 'text/javascript',
    '.wasm': 'application/wasm',
    '.zip': 'application/zip',
    '.json': 'application/json',
  }
  const serve: Connect.NextHandleFunction = (req, res, next) => {
    const path = req.url?.split('?')[0] ?? ''
    if (!path.startsWith(PYODIDE_PATH)) return next()
    const name = path.slice(PYODIDE_PATH.length)
    if (!PYODIDE_FILES.includes(name)) return next()
    const file = join(dir, name)
    stat(file).then(
      (info) => {
        res.statusCode = 200
        res.setHeader('Content-Type', types[extname(name)] ?? 'application/octet-stream')
        res.setHeader('Content-Length', String(info.size))
        for (const [header, value] of Object.entries(isolationHeaders)) res.setHeader(header, value)
        createReadStream(file).pipe(res)
      },
      () => next(),
    )
  }
  return {
    name: 'modelex-pyodide-files',
    configureServer: (server) => void server.middlewares.use(serve),
    async generateBundle() {
      // Only for the app build (workers and SSR builds would copy them twice).
      if (this.environment.name !== 'client') return
      for (const name of PYODIDE_FILES)
        this.emitFile({
          type: 'asset',
          fileName: `${PYODIDE_PATH.slice(1)}${name}`,
          source: await readFile(join(dir, name)),
        })
    },
  }
}

/** Where the service worker keeps what it caches on first use (the model files are the app's own cache, never these). */
export const PWA_CACHES = {
  /** Hashed build files left out of the precache: the engines' big runtimes (llama.cpp's wasm, web-llm), datasets. */
  assets: 'modelex-assets',
  /** Pyodide's runtime and standard library, per version (its file names carry none). */
  pyodide: `modelex-pyodide-${(createRequire(import.meta.url)('pyodide/package.json') as { version: string }).version}`,
  /** The last deployment file this app saw, so an offline start still knows its network. */
  deployment: 'modelex-deployment',
} as const

/**
 * Largest file the precache takes. The app shell (HTML, CSS, icons, the views' JavaScript, the engines' glue)
 * is precached at install, so the app starts offline after one visit; the engines' big runtimes (web-llm's chunks,
 * llama.cpp's wasm), Pyodide and the datasets are cached when first used, each in their own cache, and model
 * files stay in the app's model cache (`src/engine/model-cache.ts`), which the service worker does not touch.
 */
export const PRECACHE_MAX_BYTES = 2 ** 20

/**
 * The service worker (Workbox, through vite-plugin-pwa) and the web app manifest. `registerType: 'prompt'`: a
 * new version installs in the background and waits until the user accepts the app's "Reload to update"
 * (`src/ui/components/pwa/`); `clientsClaim` only matters for the very first install, so the first visit's page
 * is controlled (and its engine files cached) without a reload.
 */
function serviceWorker() {
  return VitePWA({
    registerType: 'prompt',
    injectRegister: false,
    strategies: 'generateSW',
    // The glob below already takes the icons and the manifest; listing them again would precache them twice.
    includeManifestIcons: false,
    manifest: {
      name: 'Modelex',
      short_name: 'Modelex',
      description: 'Run language models in your browser and share your GPU with an open network.',
      id: '/',
      start_url: '/',
      scope: '/',
      display: 'standalone',
      background_color: '#0f1115',
      theme_color: '#0f1115',
      icons: [
        { src: '/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
        { src: '/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
        { src: '/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
      ],
    },
    workbox: {
      globPatterns: ['**/*.{js,css,html,svg,png}'],
      globIgnores: ['pyodide/**', '**/*.map'],
      // Large files are dropped below, without a build warning each: they are runtime-cached instead.
      maximumFileSizeToCacheInBytes: 256 * 2 ** 20,
      manifestTransforms: [
        async (entries) => ({ manifest: entries.filter((entry) => entry.size <= PRECACHE_MAX_BYTES), warnings: [] }),
      ],
      cleanupOutdatedCaches: true,
      clientsClaim: true,
      navigateFallback: 'index.html',
      navigateFallbackDenylist: [/^\/models\//, /^\/pyodide\//, /^\/deployment\.json$/],
      runtimeCaching: [
        {
          // Build files carry a content hash in their name: what is cached is never stale.
          urlPattern: ({ url, sameOrigin }) => sameOrigin && url.pathname.startsWith('/assets/'),
          handler: 'CacheFirst',
          options: {
            cacheName: PWA_CACHES.assets,
            expiration: { maxEntries: 40, purgeOnQuotaError: true },
            cacheableResponse: { statuses: [200] },
          },
        },
        {
          // Literals only in these callbacks: Workbox copies their source text into the service worker.
          urlPattern: ({ url, sameOrigin }) => sameOrigin && url.pathname.startsWith('/pyodide/'),
          handler: 'CacheFirst',
          options: { cacheName: PWA_CACHES.pyodide, cacheableResponse: { statuses: [200] } },
        },
        {
          urlPattern: ({ url, sameOrigin }) => sameOrigin && url.pathname === '/deployment.json',
          handler: 'NetworkFirst',
          options: {
            cacheName: PWA_CACHES.deployment,
            networkTimeoutSeconds: 5,
            cacheableResponse: { statuses: [200] },
          },
        },
      ],
    },
  })
}

export default defineConfig({
  plugins: [svelte(), deploymentFile(), modelFiles(), pyodideFiles(), serviceWorker()],
  server: { host: '127.0.0.1', headers: isolationHeaders, strictPort: true },
  preview: { host: '127.0.0.1', headers: isolationHeaders, strictPort: true },
  worker: { format: 'es' },
  // The engine workers carry whole runtimes (llama.cpp glue, web-llm): large chunks are expected there.
  // Bundler timing hints appear when the machine is busy, say nothing about the app, and carry links that would
  // make the local stack print more than its one URL.
  build: {
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 8192,
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  test: {
    // `npm test` (src/server/testing/run-all.ts) runs each project as its own suite and adds up the results.
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          exclude: ['src/**/*.integration.test.ts', 'src/**/*.browser.test.ts', 'src/**/*.adversarial.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['src/**/*.integration.test.ts'],
          environment: 'node',
          globalSetup: ['src/server/testing/integration-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // `npm run test:adversarial`: attacks on the money path, on the real relay and anvil.
          name: 'adversarial',
          include: ['src/**/*.adversarial.test.ts'],
          environment: 'node',
          globalSetup: ['src/server/testing/integration-setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['src/**/*.browser.test.ts'],
          environment: 'node',
          globalSetup: ['src/server/testing/browser-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          globalSetup: ['e2e/setup.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
