import { once } from 'node:events'
import { createServer } from 'node:net'
import { describe, expect, test } from 'vitest'
import { StandardErrorWebSocket } from './node-shims.ts'

/** A loopback port that refuses connections: one a server held and closed. */
async function refusedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('the global WebSocket in Node', () => {
  test('is installed, and a refused connection with nobody listening for errors closes without throwing', async () => {
    expect(globalThis.WebSocket).toBe(StandardErrorWebSocket)
    // As libp2p's dialer leaves it once its dial was aborted: nothing listens for `error` any more. With `ws` as it
    // comes, the refusal would be thrown from the socket's callback and end the process (vitest: an unhandled error).
    const socket = new StandardErrorWebSocket(`ws://127.0.0.1:${await refusedPort()}`)
    // A plain listener: `events.once` would itself listen for `error`.
    const code = await new Promise<number>((resolve) => socket.on('close', resolve))
    expect(code).toBe(1006)
  })

  test('listeners still get the error', async () => {
    const socket = new StandardErrorWebSocket(`ws://127.0.0.1:${await refusedPort()}`)
    const [error] = (await once(socket, 'error')) as [Error & { code?: string }]
    expect(error.code).toBe('ECONNREFUSED')
  })
})
