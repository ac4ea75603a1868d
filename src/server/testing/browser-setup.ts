/**
 * Browser suite setup: makes sure Chromium is there (installing Debian's package when we can), builds the app
 * into a temporary folder and serves it like production, and starts a Vite dev server for fixture pages.
 * Tests launch their own Chromium through `launchChromium` so each can choose its flags.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PreviewServer } from 'vite'
import type { TestProject } from 'vitest/node'
import { ensureChromium } from '../lib/chromium.ts'
import { startFixtureServer, type FixtureServer } from './fixture-server.ts'
import { DEFAULT_MODELS_DIR, ensureDemoModels } from '../programs/model-demo.ts'
import { freePort } from '../lib/ports.ts'
import './context.ts'

let preview: PreviewServer | undefined
let dev: FixtureServer | undefined
let outDir: string | undefined

export async function setup(project: TestProject): Promise<void> {
  ensureChromium()
  // Tests run the tiny generated model; the app and fixture pages fetch it from /models/.
  process.env['MODELEX_MODELS_DIR'] = DEFAULT_MODELS_DIR
  await ensureDemoModels({ names: ['modelex-demo-tiny'] })
  const vite = await import('vite')
  outDir = await mkdtemp(join(tmpdir(), 'modelex-app-'))
  // No deployment file: the app must also work (and log no errors) when no local stack runs.
  process.env['MODELEX_DEPLOYMENT_FILE'] = join(outDir, 'no-deployment.json')
  await vite.build({ logLevel: 'warn', build: { outDir, emptyOutDir: true } })
  const appPort = await freePort()
  preview = await vite.preview({
    logLevel: 'warn',
    build: { outDir },
    preview: { port: appPort, strictPort: true, open: false },
  })
  dev = await startFixtureServer()
  project.provide('appUrl', `http://127.0.0.1:${appPort}/`)
  project.provide('devUrl', dev.url)
}

export async function teardown(): Promise<void> {
  await dev?.close()
  await preview?.close()
  if (outDir) await rm(outDir, { recursive: true, force: true })
}
