import { describe, expect, it } from 'vitest'
import { fromStored, memoryStore, storedDocument, toStored } from './payments.ts'

describe('payment documents', () => {
  it('keep bigints through storage and JSON, and load what was saved last', async () => {
    const store = memoryStore()
    const doc = storedDocument(store, 'k', () => ({ amount: 0n, list: [] as bigint[] }))
    expect(await doc.load()).toEqual({ amount: 0n, list: [] })
    void doc.save({ amount: 1n, list: [2n ** 200n] })
    await doc.save({ amount: 2n ** 255n, list: [3n] })
    expect(await doc.load()).toEqual({ amount: 2n ** 255n, list: [3n] })
    // A second document on the same store (a reload) reads the same state.
    expect(await storedDocument(store, 'k', () => ({ amount: 0n, list: [] as bigint[] })).load()).toEqual({
      amount: 2n ** 255n,
      list: [3n],
    })
    expect(fromStored(JSON.parse(JSON.stringify(toStored({ a: 5n, b: 'x' }))))).toEqual({ a: 5n, b: 'x' })
  })
})
