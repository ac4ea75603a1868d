/**
 * A small WebRTC lab for the browser test and `bench:p2p -- webrtc`: two (or more) headless Chromium pages that find
 * each other through the relay and talk over a direct WebRTC connection. Browsers hide loopback from WebRTC, so the
 * pages run in a network namespace of our own with a veth pair (10.231.x.1 on our side, .2 inside); the relay and
 * a small forwarder to the Vite dev server listen on our veth end. Nothing talks to any address outside the
 * namespace and veth pair created here; `stop()` removes both and stops every process started here by its PID.
 * Without root or `ip` (or Chromium), `skipReason` says why and nothing is started.
 */
import { execFileSync } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { BASE_FLAGS, findChromium } from '../lib/chromium.ts'
import { freePort } from '../lib/ports.ts'
import { startRelayProcess, type RelayProcess } from '../lib/relay-process.ts'
import { tcpLine, type TcpLine } from './tcp-line.ts'

const tag = `${process.pid % 100000}`
const NS = `mxp2p${tag}`
const VETH_OUT = `mxo${tag}`
const VETH_IN = `mxi${tag}`

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()

/**
 * A /24 of our own: starting from one picked by our pid (so parallel runs on one machine do not collide), the first
 * that no interface here has yet. A lab left behind by a run that was killed keeps its address, and a second veth
 * in the same /24 would take half our traffic (measured: the fixture page then never loads).
 */
function freeSubnet(): string {
  let assigned = ''
  try {
    assigned = ip('-o', '-4', 'addr', 'show')
  } catch {
    // No `ip`: the lab will say so when it tries to start.
  }
  for (let i = 0; i < 250; i++) {
    const subnet = `10.231.${(process.pid + i) % 250}`
    if (!assigned.includes(` ${subnet}.`)) return subnet
  }
  return `10.231.${process.pid % 250}`
}

const SUBNET = freeSubnet()
const HOST_IP = `${SUBNET}.1`
const NS_IP = `${SUBNET}.2`

function createNamespace(): string | null {
  if (process.getuid?.() !== 0) return 'not root: creating a network namespace needs CAP_NET_ADMIN'
  try {
    ip('netns', 'add', NS)
  } catch (error) {
    return `ip netns add failed: ${(error as Error).message.split('\n')[0]}`
  }
  try {
    // No IPv6 inside: its link-local addresses arrive a moment after the links come up, and Chromium, seeing the
    // network change while the fixture page loads, fails the page's requests with ERR_NETWORK_CHANGED.
    ip(
      'netns',
      'exec',
      NS,
      'sh',
      '-c',
      'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6',
    )
    ip('link', 'add', VETH_OUT, 'type', 'veth', 'peer', 'name', VETH_IN)
    ip('link', 'set', VETH_IN, 'netns', NS)
    ip('addr', 'add', `${HOST_IP}/24`, 'dev', VETH_OUT)
    ip('link', 'set', VETH_OUT, 'up')
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/24`, 'dev', VETH_IN)
    ip('netns', 'exec', NS, 'ip', 'link', 'set', VETH_IN, 'up')
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up')
    // Without camera permission Chromium offers only the default route's address as a candidate, and finds that
    // address by asking for the route to a public IP. Give the namespace a default route into a second veth pair
    // whose both ends stay inside it (no address on the far end), with our veth address as the source: Chromium
    // picks 10.231.x.2, and anything sent that way ends inside the namespace.
    ip('netns', 'exec', NS, 'ip', 'link', 'add', 'mxsink0', 'type', 'veth', 'peer', 'name', 'mxsink1')
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'mxsink0', 'up')
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'mxsink1', 'up')
    ip('netns', 'exec', NS, 'ip', 'route', 'add', 'default', 'dev', 'mxsink0', 'src', NS_IP)
    return null
  } catch (error) {
    removeNamespace()
    return `setting up the veth pair failed: ${(error as Error).message.split('\n')[0]}`
  }
}

function removeNamespace(): void {
  for (const args of [
    ['link', 'del', VETH_OUT],
    ['netns', 'del', NS],
  ]) {
    try {
      ip(...args)
    } catch {
      // Already gone (deleting one end of a veth pair deletes both).
    }
  }
}

export type Fixture = {
  start(o: {
    relay: string
    role: 'provider' | 'consumer'
    tokenDelayMs?: number
    requestsPerSecond?: number
  }): Promise<{ peerId: string; addresses: string[] }>
  discover(peerId: string): Promise<{ peerId: string; model: string; price: string }>
  request(
    peerId: string,
    maxTokens: number,
  ): Promise<{
    text: string
    deltas: number
    usage: { completion_tokens: number }
    relayed: boolean
    connections: string[]
    firstTokenMs: number
    totalMs: number
  }>
  /** Provider only: the first token of its own engine called in the page, no network. */
  localFirstTokenMs(maxTokens: number): Promise<number>
  rtt(peerId: string): Promise<number | null>
  /** Picks a node: dials it and keeps a stream ready (`warmUp`); settles when it is. */
  warm(peerId: string): Promise<{ warm: boolean; connections: string[] }>
  stop(): Promise<void>
}

export type WebRtcLab = {
  /** Why the lab could not start (no root, no `ip`, no Chromium); null when it runs. */
  skipReason: string | null
  relay: RelayProcess | undefined
  /** A fresh page with the p2p fixture, ready to be driven through `call`. */
  openFixture(): Promise<{ page: Page; errors: string[] }>
  stop(): Promise<void>
}

/** Starts the namespace, the relay on our veth end, a forwarder to `devUrl` (a Vite dev server) and Chromium. */
export async function startWebRtcLab(devUrl: string): Promise<WebRtcLab> {
  const executable = findChromium()
  const skipReason = executable ? createNamespace() : 'no Chromium'
  let tempDir: string | undefined
  let relay: RelayProcess | undefined
  let forwarder: TcpLine | undefined
  let browser: Browser | undefined
  let pageOrigin = ''
  const stop = async () => {
    await browser?.close().catch(() => {})
    await forwarder?.close()
    await relay?.process.stop()
    if (!skipReason) removeNamespace()
    if (tempDir) await rm(tempDir, { recursive: true, force: true })
  }
  if (skipReason) return { skipReason, relay, openFixture: () => Promise.reject(new Error(skipReason)), stop }
  try {
    tempDir = await mkdtemp(join(tmpdir(), 'modelex-webrtc-'))
    await linksUp()
    relay = await startRelayProcess({ host: HOST_IP, port: await freePort(), keyFile: join(tempDir, 'relay.key') })
    // Our veth end's port forwarded to the dev server on 127.0.0.1, which the namespace cannot reach.
    forwarder = await tcpLine(devUrl, { host: HOST_IP, port: await freePort() })
    pageOrigin = forwarder.url
    // Chromium itself runs inside the namespace: playwright starts this wrapper, which execs it there.
    const wrapper = join(tempDir, 'chromium-in-netns.sh')
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${NS} ${executable} "$@"\n`)
    await chmod(wrapper, 0o755)
    browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: [
        ...BASE_FLAGS,
        // Host candidates with real addresses (not mDNS names, which nothing here resolves).
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        // The fixture's origin is an IP, not localhost; WebCrypto needs a secure context.
        `--unsafely-treat-insecure-origin-as-secure=${pageOrigin}`,
      ],
    })
  } catch (error) {
    await stop()
    throw error
  }
  const opened = browser
  return { skipReason: null, relay, openFixture: () => openFixture(opened, pageOrigin), stop }
}

/** Waits (bounded) until both ends of our veth pair have carrier, so Chromium does not start on a link still settling. */
async function linksUp(): Promise<void> {
  const up = () =>
    ip('-o', 'link', 'show', VETH_OUT).includes('LOWER_UP') &&
    ip('netns', 'exec', NS, 'ip', '-o', 'link', 'show', VETH_IN).includes('LOWER_UP')
  for (let i = 0; i < 100 && !up(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  if (!up()) console.warn(`WebRTC lab: the veth pair ${VETH_OUT}/${VETH_IN} has no carrier after 5 s; going on`)
}

async function openFixture(context: Browser, pageOrigin: string): Promise<{ page: Page; errors: string[] }> {
  const page = await (await context.newContext()).newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))
  const failed: string[] = []
  page.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`))
  // A module request lost to a network change (the namespace's links settling) leaves the page unready, and a load
  // that stalls (a clean-clone CI run once waited out the navigation's whole 30 s) never fires its load event: load
  // it again, a bounded number of times, and say why when it never gets ready.
  const url = `${pageOrigin}/src/p2p/fixtures/p2p.html`
  const attempts: string[] = []
  for (let attempt = 1; attempt <= 3; attempt++) {
    failed.length = 0
    try {
      await page.goto(url, { waitUntil: 'commit', timeout: 30_000 })
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 45_000 })
      return { page, errors }
    } catch (error) {
      const why = `attempt ${attempt}: ${(error as Error).message.split('\n')[0]}; failed requests: ${failed.slice(0, 5).join('; ') || 'none'}`
      attempts.push(why)
      console.warn(`WebRTC lab: the fixture page did not get ready (${why})`)
    }
  }
  throw new Error(`the fixture page never got ready:\n${attempts.join('\n')}`)
}

/** Calls `window.fixture[method](...args)` on a fixture page. */
export const call = <K extends keyof Fixture>(page: Page, method: K, ...args: Parameters<Fixture[K]>) =>
  page.evaluate(
    ([m, a]) =>
      (window as unknown as { fixture: Record<string, (...x: unknown[]) => unknown> }).fixture[m as string]!(
        ...(a as unknown[]),
      ),
    [method, args] as const,
  ) as ReturnType<Fixture[K]>
