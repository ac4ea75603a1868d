import { describe, expect, test } from 'vitest'
import { BUILTIN_TEMPLATES, SENTIMENT_TEMPLATE, templateId } from '../core/templates.ts'
import { InvalidTemplateError } from '../core/errors/templates.ts'
import { createTemplateStore, memoryTemplateStore } from './templates.ts'

describe('template store', () => {
  test('stores by id, lists in order, once each', async () => {
    const store = memoryTemplateStore()
    for (const template of [...BUILTIN_TEMPLATES, SENTIMENT_TEMPLATE])
      expect(await store.put(template)).toBe(templateId(template))
    expect((await store.list()).map((entry) => entry.id)).toEqual(BUILTIN_TEMPLATES.map(templateId))
    expect(await store.get(templateId(SENTIMENT_TEMPLATE))).toEqual(SENTIMENT_TEMPLATE)
    expect(await store.get(`0x${'00'.repeat(32)}`)).toBeNull()
  })

  test('refuses an invalid template, and a corrupted entry reads as missing', async () => {
    const map = new Map<string, unknown>()
    const store = createTemplateStore({ get: async (k) => map.get(k), set: async (k, v) => void map.set(k, v) })
    await expect(store.put({ ...SENTIMENT_TEMPLATE, text: '{{nope}}' })).rejects.toBeInstanceOf(InvalidTemplateError)
    const id = await store.put(SENTIMENT_TEMPLATE)
    map.set(`template:${id}`, JSON.stringify({ ...SENTIMENT_TEMPLATE, version: '9.9.9' }))
    expect(await store.get(id)).toBeNull()
    expect(await store.list()).toEqual([])
  })
})
