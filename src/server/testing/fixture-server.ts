/**
 * A Vite dev server for fixture pages under src/ (test and benchmark pages that drive real engines and nodes in
 * a browser), on a free 127.0.0.1 port, serving the generated models at /models/.
 */
import type { ViteDevServer } from 'vite'
import { DEFAULT_MODELS_DIR } from '../programs/model-demo.ts'
import { freePort } from '../lib/ports.ts'

export type FixtureServer = { url: string; close(): Promise<void> }

export async function startFixtureServer(): Promise<FixtureServer> {
  process.env['MODELEX_MODELS_DIR'] ??= DEFAULT_MODELS_DIR
  const vite = await import('vite')
  const port = await freePort()
  const server: ViteDevServer = await vite.createServer({
    logLevel: 'warn',
    server: { port, strictPort: true, hmr: false, watch: null },
  })
  await server.listen()
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() }
}
