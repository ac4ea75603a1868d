/**
 * The server node's console: `npm run node -- console status|drain|redeem|withdraw|anchor` talks to the running node
 * over a Unix socket in its state directory (`console.sock`, mode 0600, so only its owner can connect) and sends
 * the operations token with each command. One JSON line each way: `{ token, command }`, then `{ ok, result }` or
 * `{ ok: false, error }` (a serialized typed error). The socket also keeps a second node off the same state
 * directory: a node refuses to start while another answers on it.
 */
import { chmod, unlink } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tokensEqual } from '../../../core/autocomplete-pairing.ts'
import { deserializeError, serializeError, type JsonValue, type SerializedError } from '../../../core/errors/base.ts'
import { NodeConsoleError } from '../../../core/errors/operations.ts'
import { CONSOLE_COMMANDS, type ConsoleCommand } from './options.ts'

const MAX_LINE = 64 * 1024
/** Unix socket paths are limited to about 104 bytes (macOS) or 108 (Linux). */
const MAX_SOCKET_PATH = 100

export type ConsoleHandler = (command: ConsoleCommand) => Promise<JsonValue>

export type ConsoleServer = { close(): Promise<void> }

type Reply = { ok: true; result: JsonValue } | { ok: false; error: SerializedError }

export async function startConsoleServer(path: string, token: string, handler: ConsoleHandler): Promise<ConsoleServer> {
  if (path.length > MAX_SOCKET_PATH)
    throw new NodeConsoleError({
      reason: 'failed',
      details: `the socket path ${path} is longer than ${MAX_SOCKET_PATH} characters: choose a shorter --state-dir`,
    })
  if (await answers(path))
    throw new NodeConsoleError({
      reason: 'failed',
      details: `another node is running on this state directory (it answers on ${path}); stop it first, or use another --state-dir`,
    })
  await unlink(path).catch(() => {})
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.setTimeout(10_000, () => socket.destroy())
    readLine(socket).then(
      async (line) => {
        const reply = await answer(line, token, handler)
        socket.end(`${JSON.stringify(reply)}\n`)
      },
      () => socket.destroy(),
    )
  })
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, () => resolve()))
  await chmod(path, 0o600)
  return {
    async close() {
      // Answers being written go out first (a drain's answer is written just before the node exits), within a bound.
      const closed = new Promise<void>((done) => server.close(() => done()))
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy()
      }, 2_000)
      await closed
      clearTimeout(timer)
      await unlink(path).catch(() => {})
    },
  }
}

async function answer(line: string, token: string, handler: ConsoleHandler): Promise<Reply> {
  let message: { token?: unknown; command?: unknown }
  try {
    message = JSON.parse(line) as typeof message
  } catch {
    return {
      ok: false,
      error: serializeError(new NodeConsoleError({ reason: 'protocol', details: 'not a JSON line' })),
    }
  }
  if (typeof message.token !== 'string' || !tokensEqual(message.token, token))
    return { ok: false, error: serializeError(new NodeConsoleError({ reason: 'unauthorized' })) }
  if (!CONSOLE_COMMANDS.includes(message.command as ConsoleCommand))
    return {
      ok: false,
      error: serializeError(new NodeConsoleError({ reason: 'unknown-command', details: String(message.command) })),
    }
  try {
    return { ok: true, result: await handler(message.command as ConsoleCommand) }
  } catch (error) {
    return {
      ok: false,
      error: serializeError(
        new NodeConsoleError({
          reason: 'failed',
          details: (error as Error).message.split('\n')[0] ?? String(error),
          cause: error,
        }),
      ),
    }
  }
}

/** Sends one command to the node on `path`; its result, or the node's typed error. */
export async function sendConsoleCommand(
  path: string,
  token: string,
  command: ConsoleCommand,
  timeoutMs = 600_000,
): Promise<JsonValue> {
  let socket: Socket
  try {
    socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s))
      s.once('error', reject)
    })
  } catch (error) {
    throw new NodeConsoleError({
      reason: 'not-running',
      details: `${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      cause: error,
    })
  }
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)))
  socket.write(`${JSON.stringify({ token, command })}\n`)
  let line: string
  try {
    line = await readLine(socket)
  } catch (error) {
    throw new NodeConsoleError({ reason: 'protocol', details: (error as Error).message, cause: error })
  } finally {
    socket.destroy()
  }
  let reply: Reply
  try {
    reply = JSON.parse(line) as Reply
  } catch {
    throw new NodeConsoleError({ reason: 'protocol', details: 'the node did not answer with a JSON line' })
  }
  if (reply.ok) return reply.result
  throw deserializeError(reply.error)
}

/** Whether a node answers on `path` now. */
async function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path, () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** The first line the socket sends (at most `MAX_LINE` bytes). */
function readLine(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const end = buffered.indexOf('\n')
      if (end !== -1) {
        cleanup()
        resolve(buffered.slice(0, end))
      } else if (buffered.length > MAX_LINE) {
        cleanup()
        reject(new Error(`a line longer than ${MAX_LINE} bytes`))
      }
    }
    const onEnd = () => {
      cleanup()
      reject(new Error('the connection closed before a full line'))
    }
    const cleanup = () => {
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      socket.off('error', onEnd)
    }
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.on('error', onEnd)
  })
}
