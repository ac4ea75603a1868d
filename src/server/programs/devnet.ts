/**
 * The local stack behind `npm start`: a chain (anvil) with the contracts deployed, the relay, the app, and a
 * demo provider node, on 127.0.0.1, with one URL printed at the end. Ctrl-C, SIGTERM, or the end of the process
 * that started it (npm killed hard) stops every child by its PID.
 *
 * Options (flags or environment): --host / MODELEX_HOST, --chain-port / MODELEX_CHAIN_PORT (8545),
 * --relay-port / MODELEX_RELAY_PORT (9090), --app-port / MODELEX_APP_PORT (5173),
 * --state-dir / MODELEX_STATE_DIR (.modelex).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { PreviewServer } from 'vite'
import type { Deployment } from '../../core/deployment.ts'
import { DEVNET_CHAIN_ID } from '../lib/anvil.ts'
import { startLocalChain } from '../lib/local-chain.ts'
import { DEFAULT_MODELS_DIR, ensureDemoModels } from './model-demo.ts'
import { assertPortFree } from '../lib/ports.ts'
import { killAllNow, stopAll } from '../lib/process.ts'
import { startRelayProcess } from '../lib/relay-process.ts'
import { startDemoProvider, type DemoProvider } from './demo-provider.ts'

export type DevnetOptions = {
  host: string
  chainPort: number
  relayPort: number
  appPort: number
  stateDir: string
  /** Start the headless demo provider (default true; `--no-demo-provider` or MODELEX_DEMO_PROVIDER=0 turn it off). */
  demoProvider?: boolean
}

export function readDevnetOptions(argv: readonly string[], env: NodeJS.ProcessEnv): DevnetOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      host: { type: 'string' },
      'chain-port': { type: 'string' },
      'relay-port': { type: 'string' },
      'app-port': { type: 'string' },
      'state-dir': { type: 'string' },
      'no-demo-provider': { type: 'boolean' },
    },
    strict: true,
  })
  const port = (flag: string, value: string | undefined, fallback: number) => {
    const n = Number(value ?? fallback)
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new Error(`--${flag} must be a port number (1-65535), got ${value}.`)
    return n
  }
  return {
    host: values.host ?? env['MODELEX_HOST'] ?? '127.0.0.1',
    chainPort: port('chain-port', values['chain-port'] ?? env['MODELEX_CHAIN_PORT'], 8545),
    relayPort: port('relay-port', values['relay-port'] ?? env['MODELEX_RELAY_PORT'], 9090),
    appPort: port('app-port', values['app-port'] ?? env['MODELEX_APP_PORT'], 5173),
    stateDir: resolve(values['state-dir'] ?? env['MODELEX_STATE_DIR'] ?? '.modelex'),
    demoProvider: !(values['no-demo-provider'] ?? env['MODELEX_DEMO_PROVIDER'] === '0'),
  }
}

export type Devnet = { url: string; deployment: Deployment; deploymentFile: string; stop(): Promise<void> }

export async function startDevnet(options: DevnetOptions, log: (line: string) => void = console.log): Promise<Devnet> {
  const { host } = options
  // Check every port before starting anything, so a taken port costs nothing to fix.
  await assertPortFree(host, options.chainPort, 'chain RPC', '--chain-port N or MODELEX_CHAIN_PORT=N')
  await assertPortFree(host, options.relayPort, 'relay', '--relay-port N or MODELEX_RELAY_PORT=N')
  await assertPortFree(host, options.appPort, 'app', '--app-port N or MODELEX_APP_PORT=N')

  let app: PreviewServer | undefined
  let demo: DemoProvider | undefined
  const stop = async () => {
    await demo?.stop()
    await app?.close()
    await stopAll()
  }
  try {
    const { anvil, chain } = await startLocalChain({
      host,
      port: options.chainPort,
      log: (line) => log(`chain: ${line}`),
    })
    log(`chain: anvil (pid ${anvil.process.pid}) serving chain ${DEVNET_CHAIN_ID} on ${host}:${options.chainPort}`)
    log(`chain: deployed ${Object.keys(chain.contracts).join(', ')}`)

    // The relay: a child process (stopped by PID with the rest), with its key in the state folder so its
    // multiaddr stays the same across restarts of the stack. It joins announcement topics only for models registered
    // on the NodeRegistry, as a public relay does.
    const registry = chain.contracts.NodeRegistry
      ? { rpcUrl: chain.rpcUrl, address: chain.contracts.NodeRegistry }
      : undefined
    const relay = await startRelayProcess({
      host,
      port: options.relayPort,
      keyFile: join(options.stateDir, 'relay.key'),
      metricsIntervalMs: 0,
      ...(registry ? { registry } : {}),
    })
    log(`relay: (pid ${relay.process.pid}) listening at ${relay.multiaddr}`)
    const deployment: Deployment = { ...chain, relay: relay.multiaddr }
    const deploymentFile = join(options.stateDir, 'deployment.json')
    await writeJsonAtomically(deploymentFile, deployment)
    log(`stack: deployment written to ${deploymentFile}`)

    // The demo models (random weights, generated here because no model hub is reachable) are the stack's
    // default models; content-addressed, so every state folder shares one copy.
    const models = await ensureDemoModels({ log: (line) => log(`models: ${line}`) })
    log(`models: ${Object.keys(models).join(', ')} ready (random-weights demos: their text means nothing)`)
    process.env['MODELEX_MODELS_DIR'] = DEFAULT_MODELS_DIR

    process.env['MODELEX_DEPLOYMENT_FILE'] = deploymentFile
    const vite = await import('vite')
    const outDir = join(options.stateDir, 'app')
    log('app: building…')
    await vite.build({ logLevel: 'warn', build: { outDir, emptyOutDir: true } })
    // Vite's preview server adds a SIGTERM listener that closes it and exits at once (code 143), cutting short the
    // stack's orderly stop of its other children; whoever holds the Devnet stops it, so that listener goes.
    const sigtermListeners = new Set(process.listeners('SIGTERM'))
    app = await vite.preview({
      build: { outDir },
      preview: { host, port: options.appPort, strictPort: true, open: false },
      logLevel: 'warn',
    })
    for (const listener of process.listeners('SIGTERM'))
      if (!sigtermListeners.has(listener)) process.off('SIGTERM', listener)
    const url = `http://${host}:${options.appPort}/`
    // The demo provider: the app itself in a headless Chromium, serving the 30M demo model for pay.
    if (options.demoProvider !== false) {
      log('demo: starting the headless demo provider (modelex-demo-30m)…')
      demo = await startDemoProvider({ url, model: 'modelex-demo-30m', log: (line) => log(`demo: ${line}`) })
      log(`demo: provider ${demo.peerId} online, operator ${demo.operator}`)
    }
    return { url, deployment, deploymentFile, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  await mkdir(resolve(file, '..'), { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`)
  await rename(temporary, file)
}

const PARENT_POLL_MS = 250
const SHUTDOWN_DEADLINE_MS = 10_000

async function main(): Promise<void> {
  const options = readDevnetOptions(process.argv.slice(2), process.env)
  process.on('exit', killAllNow)
  let devnet: Devnet | undefined
  let stopping = false
  const shutdown = (reason: string) => {
    if (stopping) return
    stopping = true
    console.log(`\n${reason}: stopping the local stack…`)
    // A child that does not stop must not keep the stack up: past the deadline the exit handler SIGKILLs it.
    setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref()
    const done = devnet ? devnet.stop() : stopAll()
    done.then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  // `npm start` execs this program, so npm's SIGINT/SIGTERM reach us; but a parent killed hard (SIGKILL, an OOM
  // kill) sends nothing, and we would be re-parented and keep running. No portable parent-death signal exists in
  // Node, so watch our parent PID.
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) shutdown(`parent process ${parent} is gone`)
  }, PARENT_POLL_MS).unref()
  try {
    devnet = await startDevnet(options)
  } catch (error) {
    console.error(`\nThe local stack did not start: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
  console.log(`\nModelex is running. Open ${devnet.url}\nPress Ctrl-C to stop.`)
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
