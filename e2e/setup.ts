/**
 * End-to-end suite setup: the local stack as `npm start` runs it (anvil with the contracts, the relay, the built app
 * serving the demo models), on free 127.0.0.1 ports, shared by every e2e test (`inject('devnet')`) and stopped by PID
 * at the end. Chromium is made sure of here; tests launch their own browsers.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import type { Deployment } from '../src/core/deployment.ts'
import { ensureChromium } from '../src/server/lib/chromium.ts'
import { startDevnet, type Devnet } from '../src/server/programs/devnet.ts'
import { freePort } from '../src/server/lib/ports.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    devnet: { url: string; deployment: Deployment }
  }
}

let devnet: Devnet | undefined
let stateDir: string | undefined

export async function setup(project: TestProject): Promise<void> {
  ensureChromium()
  stateDir = await mkdtemp(join(tmpdir(), 'modelex-e2e-'))
  devnet = await startDevnet(
    {
      host: '127.0.0.1',
      chainPort: await freePort(),
      relayPort: await freePort(),
      appPort: await freePort(),
      stateDir,
      demoProvider: false,
    },
    () => {},
  )
  project.provide('devnet', { url: devnet.url, deployment: devnet.deployment })
}

export async function teardown(): Promise<void> {
  await devnet?.stop()
  if (stateDir) await rm(stateDir, { recursive: true, force: true })
}
