/**
 * What libp2p 3 expects from its runtime and Node 20 lacks: `Promise.withResolvers` (Node 22) and a global
 * `WebSocket` (Node 22), which behaves like the browser's. Import this module first in every Node entry point and test
 * that creates a libp2p node.
 */
import WebSocket from 'ws'

type Resolvers<T> = {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const promise = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> }
if (typeof promise.withResolvers !== 'function') {
  promise.withResolvers = <T>(): Resolvers<T> => {
    let resolve!: Resolvers<T>['resolve']
    let reject!: Resolvers<T>['reject']
    const created = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise: created, resolve, reject }
  }
}

/**
 * `ws` as the global `WebSocket`, with the standard's one difference that matters here: an `error` nobody listens to
 * is dropped. `ws` is an EventEmitter, which throws such an error instead, and libp2p's dialer stops listening when
 * its dial is aborted (a node stopping, a dial timeout): the refusal or timeout of the TCP connect that arrives later
 * used to end the whole process (`Unhandled 'error' event`, ECONNREFUSED). The error still reaches every listener,
 * and `close` follows it as before.
 */
export class StandardErrorWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args)
    this.on('error', () => {})
  }
}

const global = globalThis as unknown as { WebSocket?: unknown }
if (typeof global.WebSocket !== 'function') global.WebSocket = StandardErrorWebSocket
