import '../lib/node-shims.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { createServer, type Server } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { parseDeployment } from '../../core/deployment.ts'
import { DEMO_MODELS } from '../../core/models.ts'
import { createModelexNode } from '../../p2p/node.ts'
import { createClient } from '../../client/index.ts'
import { createWalletClient, http, parseEther } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { DEVNET_MNEMONIC } from '../lib/anvil.ts'
import { freePort } from '../lib/ports.ts'
import { startProcess, type ManagedProcess } from '../lib/process.ts'

const devnetScript = join(import.meta.dirname, 'devnet.ts')

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('npm start (the local stack)', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  async function start(args: string[]): Promise<{ devnet: ManagedProcess; stateDir: string }> {
    const stateDir = await mkdtemp(join(tmpdir(), 'modelex-devnet-'))
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }))
    // Node with tsx as a loader (not the tsx CLI, which would put a wrapper process between us and the stack):
    // the PID we signal is the stack itself, as with Ctrl-C in a terminal.
    const devnet = startProcess(
      'devnet',
      process.execPath,
      ['--import', 'tsx', devnetScript, '--state-dir', stateDir, ...args],
      { cwd: join(import.meta.dirname, '../../..') },
    )
    cleanups.push(() => devnet.stop(10_000))
    return { devnet, stateDir }
  }

  test('brings up chain, relay and app, prints one URL, and Ctrl-C stops every child', async () => {
    const [chainPort, relayPort, appPort] = [await freePort(), await freePort(), await freePort()]
    const { devnet } = await start([
      '--chain-port',
      String(chainPort),
      '--relay-port',
      String(relayPort),
      '--app-port',
      String(appPort),
    ])
    const [, url] = (await devnet.waitForLine(/Open (http:\S+)/, 300_000)) as RegExpMatchArray
    expect(url).toBe(`http://127.0.0.1:${appPort}/`)
    // One URL among the stack's own lines (Vite's build warnings, which link to docs, are not the stack's output).
    const own = devnet
      .output()
      .split('\n')
      .filter((line) => /^(chain|relay|stack|app|models|demo): |^Modelex is running|^Press Ctrl-C/.test(line))
    expect(own.join('\n').match(/https?:\/\//g)).toHaveLength(1)

    const page = await fetch(url as string)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>Modelex</title>')
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin')
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp')
    // The generated demo model is the stack's default model, served beside the app.
    const model = await fetch(new URL('/models/modelex-demo-30m.gguf', url as string), { method: 'HEAD' })
    expect(model.status).toBe(200)
    expect(Number(model.headers.get('content-length'))).toBe(
      DEMO_MODELS.find((m) => m.id === 'modelex-demo-30m')?.sizeBytes,
    )

    const deployment = parseDeployment(await (await fetch(new URL('/deployment.json', url))).json())
    expect(deployment.rpcUrl).toBe(`http://127.0.0.1:${chainPort}`)
    const rpc = await fetch(deployment.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    })
    expect(((await rpc.json()) as { result: string }).result).toBe(`0x${deployment.chainId.toString(16)}`)

    // The relay is in the deployment and answers a real libp2p ping.
    expect(deployment.relay).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/${relayPort}/ws/p2p/12D3Koo\\w+$`))
    const peer = await createModelexNode({ runtime: 'node', listen: [] })
    await peer.start()
    try {
      expect(
        await peer.libp2p.services.ping.ping(multiaddr(deployment.relay as string), {
          signal: AbortSignal.timeout(10_000),
        }),
      ).toBeGreaterThanOrEqual(0)
    } finally {
      await peer.stop()
    }

    // The demo provider (a headless Chromium running the app's Node view) is online before the URL is printed:
    // a newcomer can pay for a prompt at once. The SDK in Node does exactly that.
    const demoPeer = devnet.output().match(/demo: provider (12D3Koo\w+) online/)?.[1]
    expect(demoPeer).toBeTruthy()
    const client = createClient({
      deployment,
      wallet: createWalletClient({
        account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: 4 }),
        transport: http(deployment.rpcUrl),
        pollingInterval: 100,
      }),
      channelDeposit: parseEther('1'),
    })
    try {
      const answer = await client.chat.completions.create({
        model: 'modelex-demo-30m',
        messages: [{ role: 'user', content: 'hello' }],
        max_tokens: 4,
        node: demoPeer as string,
      })
      expect(answer.modelex.cost > 0n).toBe(true)
      expect(answer.modelex.receipt.receipt.cost).toBe(answer.modelex.cost)
    } finally {
      await client.stop()
    }

    const anvilPid = Number(devnet.output().match(/anvil \(pid (\d+)\)/)?.[1])
    const relayPid = Number(devnet.output().match(/relay: \(pid (\d+)\)/)?.[1])
    expect(isAlive(anvilPid)).toBe(true)
    expect(isAlive(relayPid)).toBe(true)
    process.kill(devnet.pid, 'SIGINT')
    expect(await devnet.exited).toBe(0)
    expect(isAlive(anvilPid)).toBe(false)
    expect(isAlive(relayPid)).toBe(false)
    await expect(fetch(url as string, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow()
  }, 400_000)

  test('says clearly when a port is taken, and starts nothing', async () => {
    const blocker: Server = createServer()
    const takenPort = await freePort()
    await new Promise<void>((resolve) => blocker.listen(takenPort, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())))
    const { devnet } = await start([
      '--chain-port',
      String(takenPort),
      '--relay-port',
      String(await freePort()),
      '--app-port',
      String(await freePort()),
    ])
    expect(await devnet.exited).toBe(1)
    expect(devnet.output()).toMatch(new RegExp(`Port ${takenPort} on 127.0.0.1 \\(chain RPC\\) is taken.*--chain-port`))
    expect(devnet.output()).not.toMatch(/anvil \(pid/)
  })

  test('says clearly when the relay port is taken, and starts nothing', async () => {
    const blocker: Server = createServer()
    const takenPort = await freePort()
    await new Promise<void>((resolve) => blocker.listen(takenPort, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())))
    const { devnet } = await start([
      '--chain-port',
      String(await freePort()),
      '--relay-port',
      String(takenPort),
      '--app-port',
      String(await freePort()),
    ])
    expect(await devnet.exited).toBe(1)
    expect(devnet.output()).toMatch(new RegExp(`Port ${takenPort} on 127.0.0.1 \\(relay\\) is taken.*--relay-port`))
    expect(devnet.output()).not.toMatch(/anvil \(pid|relay: \(pid/)
  })
})
