/**
 * The gateway under a process manager: SIGTERM or SIGINT to its PID (as systemd or `docker stop` send) closes its
 * HTTP server and exits 0, leaving nothing listening.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { startProcess, type ManagedProcess } from '../lib/process.ts'

const root = join(import.meta.dirname, '../../..')
const started: ManagedProcess[] = []
const dirs: string[] = []
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()))
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(false)))
    socket.once('error', () => resolve(true))
  })

test.each(['SIGTERM', 'SIGINT'] as const)('%s to the gateway PID closes it and frees its port', async (signal) => {
  const dir = await mkdtemp(join(tmpdir(), 'modelex-gateway-signal-'))
  dirs.push(dir)
  const gateway = startProcess(
    'gateway',
    process.execPath,
    [
      '--import',
      'tsx',
      'src/server/programs/gateway.ts',
      '--port',
      '0',
      '--deployment',
      join(dir, 'none.json'),
      '--key-file',
      join(dir, 'gateway.key'),
      '--state-file',
      join(dir, 'state.json'),
    ],
    { cwd: root },
  )
  started.push(gateway)
  const [, port] = await gateway.waitForLine(/Modelex gateway on http:\/\/127\.0\.0\.1:(\d+)\/v1/, 60_000)
  expect(await refused(Number(port))).toBe(false)
  process.kill(gateway.pid, signal)
  expect(await gateway.exited).toBe(0)
  expect(await refused(Number(port))).toBe(true)
})
