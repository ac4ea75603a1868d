/**
 * A TCP forwarder for tests: a line to a real server (anvil's RPC, a dev server) that can be cut and restored, or
 * that delays every request like a distant endpoint. Every socket it opens is destroyed by `cut`/`close`.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export type TcpLine = { url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }

/** `host`/`port`: where the line listens (default a free port on 127.0.0.1). */
export async function tcpLine(
  targetUrl: string,
  { delayMs = 0, host = '127.0.0.1', port: listenPort = 0 }: { delayMs?: number; host?: string; port?: number } = {},
): Promise<TcpLine> {
  const target = new URL(targetUrl)
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = listenPort
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname)
        sockets.add(client).add(upstream)
        if (delayMs > 0) client.on('data', (chunk) => setTimeout(() => upstream.write(chunk), delayMs))
        else client.pipe(upstream)
        upstream.pipe(client)
        const drop = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        client.on('error', drop).on('close', drop)
        upstream.on('error', drop).on('close', drop)
      }).listen(port, host, () => {
        port = (server?.address() as AddressInfo).port
        resolve()
      })
    })
  const cut = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    server = undefined
  }
  await open()
  return { url: `http://${host}:${port}`, cut, restore: open, close: cut }
}
