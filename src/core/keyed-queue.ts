/**
 * Work that must not interleave per key (one payment channel, one stored record, one node): each call runs after
 * the previous call for the same key has settled, whether it succeeded or failed; keys with nothing queued are
 * forgotten, so the map does not grow with every key ever used.
 */
export type KeyedQueue = <T>(key: string, work: () => Promise<T>) => Promise<T>

export function keyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<unknown>>()
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const next = (tails.get(key) ?? Promise.resolve()).then(work, work)
    const tail = next.then(
      () => {},
      () => {},
    )
    tails.set(key, tail)
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key)
    })
    return next
  }
}
