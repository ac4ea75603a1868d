/** Port checks: a free port for tests, and a clear message when a configured port is taken. */
import { createServer } from 'node:net'
import { BaseError } from '../../core/errors/base.ts'

export class PortInUseError extends BaseError {
  override name = 'PortInUseError' as const
}

/** Resolves if `host:port` can be bound now; rejects with a message naming the service and how to change it. */
export function assertPortFree(host: string, port: number, service: string, hint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new PortInUseError(
              `Port ${port} on ${host} (${service}) is taken. Stop what uses it (lsof -i :${port}) or choose another port: ${hint}.`,
            )
          : error,
      )
    })
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()))
  })
}

/** A port the OS says is free right now on 127.0.0.1. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ host, port: 0 }, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
