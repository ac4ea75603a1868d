/** The relay as a child process, for tests, benchmarks and the local stack: started, read and stopped by PID. */
import { join } from 'node:path'
import { startProcess, type ManagedProcess } from './process.ts'

const root = join(import.meta.dirname, '../../..')

export type RelayProcess = { process: ManagedProcess; multiaddr: string; peerId: string; metrics(): Promise<Record<string, unknown>> }

/** Starts `src/server/programs/relay.ts` as a child process and waits for its multiaddr line. */
export async function startRelayProcess({ port, keyFile, host = '127.0.0.1', metricsIntervalMs = 250 }: { port: number; keyFile: string; host?: string; metricsIntervalMs?: number }): Promise<RelayProcess> {
  // Node itself with tsx as a loader, not the tsx CLI: the CLI runs the program in a child process of its own, so
  // the PID we hold would be the wrapper's, and a SIGKILL to it would orphan the relay.
  const child = startProcess('relay', process.execPath, ['--import', 'tsx', join(root, 'src/server/programs/relay.ts'), '--host', host, '--port', String(port), '--key-file', keyFile, '--metrics-interval-ms', String(metricsIntervalMs)], { cwd: root })
  const [line] = await child.waitForLine(/^\{"event":"listening".*\}$/, 30_000)
  const { multiaddr, peerId } = JSON.parse(line) as { multiaddr: string; peerId: string }
  return {
    process: child,
    multiaddr,
    peerId,
    async metrics() {
      const lines = child.output().split('\n').filter((l) => l.startsWith('{"event":"metrics"'))
      const last = lines.at(-1)
      return last ? (JSON.parse(last) as Record<string, unknown>) : {}
    },
  }
}
