/**
 * What libp2p 3 expects from its runtime and Node 20 lacks: `Promise.withResolvers` (Node 22) and a global
 * `WebSocket` (Node 22). Import this module first in every Node entry point and test that creates a libp2p node.
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

const global = globalThis as unknown as { WebSocket?: unknown }
if (typeof global.WebSocket !== 'function') global.WebSocket = WebSocket
