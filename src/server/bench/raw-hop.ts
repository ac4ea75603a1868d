/**
 * The machine's floor for `bench:p2p`'s first-token figures: plain TCP on loopback, without libp2p (no WebSocket,
 * noise, yamux or protocol), in processes of their own as the relay is. `server <port> <delayMs>` answers each
 * chunk it reads after `delayMs` (a timer, like the in-memory engine's delay before its first token); `relay <port>
 * <upstream port>` pipes each connection to the upstream port, as a relay forwards a circuit. Each prints
 * `{"event":"listening","port":N}` when ready and runs until it is stopped by PID.
 */
import { createConnection, createServer, type Socket } from 'node:net'

function listen(port: number, onConnection: (socket: Socket) => void): void {
  const server = createServer({ noDelay: true }, onConnection)
  server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ event: 'listening', port })))
}

const [role, portArg, extra] = process.argv.slice(2)
const port = Number(portArg)
if (role === 'server') {
  const delayMs = Number(extra)
  listen(port, (socket) => {
    socket.on('data', (chunk) => setTimeout(() => socket.write(chunk), delayMs))
    socket.on('error', () => socket.destroy())
  })
} else if (role === 'relay') {
  const upstreamPort = Number(extra)
  listen(port, (socket) => {
    const upstream = createConnection({ port: upstreamPort, host: '127.0.0.1', noDelay: true })
    socket.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => socket.write(chunk))
    const close = () => {
      socket.destroy()
      upstream.destroy()
    }
    socket.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
  })
} else {
  console.error('usage: raw-hop.ts server <port> <delayMs> | relay <port> <upstream port>')
  process.exit(2)
}
