/** The relay as a child process, for tests, benchmarks and the local stack: started, read and stopped by PID. */
import { join } from 'node:path'
import { loadOrCreatePeerKeyFile } from '../../store/key-file.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { startProcess, type ManagedProcess } from './process.ts'

const root = join(import.meta.dirname, '../../..')

export type RelayProcess = {
  process: ManagedProcess
  multiaddr: string
  peerId: string
  metrics(): Promise<Record<string, unknown>>
}

export type RelayProcessOptions = {
  port: number
  keyFile: string
  host?: string
  metricsIntervalMs?: number
  /** The deployment's other relays (multiaddrs with /p2p/<id>). */
  peerRelays?: readonly string[]
  /** Join only the topics of models registered in this NodeRegistry. */
  registry?: { rpcUrl: string; address: string }
  maxConnections?: number
  maxReservations?: number
}

/** Starts `src/server/programs/relay.ts` as a child process and waits for its multiaddr line. */
export async function startRelayProcess({
  port,
  keyFile,
  host = '127.0.0.1',
  metricsIntervalMs = 250,
  peerRelays = [],
  registry,
  maxConnections,
  maxReservations,
}: RelayProcessOptions): Promise<RelayProcess> {
  const args = [
    '--host',
    host,
    '--port',
    String(port),
    '--key-file',
    keyFile,
    '--metrics-interval-ms',
    String(metricsIntervalMs),
  ]
  for (const peer of peerRelays) args.push('--peer-relay', peer)
  if (registry) args.push('--rpc-url', registry.rpcUrl, '--registry', registry.address)
  if (maxConnections !== undefined) args.push('--max-connections', String(maxConnections))
  if (maxReservations !== undefined) args.push('--max-reservations', String(maxReservations))
  // Node itself with tsx as a loader, not the tsx CLI: the CLI runs the program in a child process of its own, so
  // the PID we hold would be the wrapper's, and a SIGKILL to it would orphan the relay.
  const child = startProcess(
    'relay',
    process.execPath,
    ['--import', 'tsx', join(root, 'src/server/programs/relay.ts'), ...args],
    { cwd: root },
  )
  const [line] = await child.waitForLine(/^\{"event":"listening".*\}$/, 30_000)
  const { multiaddr, peerId } = JSON.parse(line) as { multiaddr: string; peerId: string }
  return {
    process: child,
    multiaddr,
    peerId,
    async metrics() {
      const lines = child
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{"event":"metrics"'))
      const last = lines.at(-1)
      return last ? (JSON.parse(last) as Record<string, unknown>) : {}
    },
  }
}

export type RelayFederation = { relays: RelayProcess[]; multiaddrs: string[]; stop(): Promise<void> }

/**
 * Starts `count` relays that know each other from the start: their keys are made first (so their peer ids, and with
 * free ports their multiaddrs, are known before any starts), then each starts with the others as peer relays.
 */
export async function startRelayFederation({
  ports,
  keyFiles,
  host = '127.0.0.1',
  ...options
}: { ports: readonly number[]; keyFiles: readonly string[] } & Omit<
  RelayProcessOptions,
  'port' | 'keyFile' | 'peerRelays'
>): Promise<RelayFederation> {
  const ids = await Promise.all(
    keyFiles.map(async (file) => peerIdFromPrivateKey(await loadOrCreatePeerKeyFile(file)).toString()),
  )
  const multiaddrs = ports.map((port, i) => `/ip4/${host}/tcp/${port}/ws/p2p/${ids[i]}`)
  const relays: RelayProcess[] = []
  const stop = async () => {
    await Promise.all(relays.map((r) => r.process.stop().catch(() => {})))
  }
  try {
    for (const [i, port] of ports.entries())
      relays.push(
        await startRelayProcess({
          ...options,
          host,
          port,
          keyFile: keyFiles[i]!,
          peerRelays: multiaddrs.filter((_, j) => j !== i),
        }),
      )
  } catch (error) {
    await stop()
    throw error
  }
  return { relays, multiaddrs, stop }
}
