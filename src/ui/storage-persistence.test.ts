import { describe, expect, test } from 'vitest'
import { StoragePersistence, type PersistentStorage } from './storage-persistence.svelte.ts'

/** The browser's StorageManager is a boundary this machine has no browser for in unit tests: played here. */
function storage(answers: { persisted: boolean; persist: boolean | Error }): PersistentStorage & { asked: number } {
  const fake = {
    asked: 0,
    persisted: async () => answers.persisted,
    persist: async () => {
      fake.asked++
      if (answers.persist instanceof Error) throw answers.persist
      return answers.persist
    },
  }
  return fake
}

describe('StoragePersistence', () => {
  test('says nothing before a model is cached', () => {
    expect(new StoragePersistence(storage({ persisted: false, persist: true })).message).toBeNull()
  })

  test('granted: asks once, however many models are cached at once', async () => {
    const browser = storage({ persisted: false, persist: true })
    const persistence = new StoragePersistence(browser)
    const answers = await Promise.all([persistence.request(), persistence.request(), persistence.request()])
    expect(answers).toEqual(['granted', 'granted', 'granted'])
    expect(browser.asked).toBe(1)
    expect(persistence.message).toMatch(/persistent/)
  })

  test('already persisted: does not ask again', async () => {
    const browser = storage({ persisted: true, persist: false })
    expect(await new StoragePersistence(browser).request()).toBe('granted')
    expect(browser.asked).toBe(0)
  })

  test('refused, or a throwing browser: says cached models may be deleted', async () => {
    for (const persist of [false, new DOMException('not allowed', 'SecurityError')]) {
      const persistence = new StoragePersistence(storage({ persisted: false, persist }))
      expect(await persistence.request()).toBe('refused')
      expect(persistence.message).toMatch(/refused persistent storage/)
    }
  })

  test('no StorageManager: unsupported', async () => {
    const persistence = new StoragePersistence(null)
    expect(await persistence.request()).toBe('unsupported')
    expect(persistence.message).toMatch(/cannot make storage persistent/)
  })
})
