import { describe, expect, test } from 'vitest'
import type { Announcement } from './announcement.ts'
import type { DirectoryEntry } from './directory.ts'
import { modelChoices } from './model-choices.ts'

const HASH = `0x${'ab'.repeat(32)}` as const

function entry(peerId: string, models: string[], input: string, output: string): DirectoryEntry {
  const announcement = {
    peerId,
    models: models.map((id) => ({ id, contentHash: HASH, engine: 'wasm', contextLength: 2048, tokensPerSecond: 10 })),
    pricePerMillionInput: input,
    pricePerMillionOutput: output,
  } as unknown as Announcement
  return { peerId, announcement, firstSeen: 0, lastSeen: 0, rttMs: null, registered: null } as DirectoryEntry
}

const CATALOG = [
  { id: 'modelex-demo-tiny', name: 'Demo tiny' },
  { id: 'modelex-demo-30m', name: 'Demo 30M' },
  { id: 'qwen', name: 'Qwen' },
]

describe('modelChoices', () => {
  test('network models first, by how many nodes serve them, with the lowest prices; known models after, without repeats', () => {
    const choices = modelChoices(
      [
        entry('a', ['modelex-demo-tiny', 'qwen'], '300', '900'),
        entry('b', ['qwen'], '200', '1000'),
        entry('c', ['qwen'], '500', '800'),
      ],
      CATALOG,
    )
    expect(choices.network).toEqual([
      { id: 'qwen', nodes: 3, cheapestInput: 200n, cheapestOutput: 800n },
      { id: 'modelex-demo-tiny', nodes: 1, cheapestInput: 300n, cheapestOutput: 900n },
    ])
    expect(choices.local).toEqual([{ id: 'modelex-demo-30m', name: 'Demo 30M' }])
  })

  test('a node announcing twice (two entries with one peer id) counts once', () => {
    expect(modelChoices([entry('a', ['qwen'], '1', '1'), entry('a', ['qwen'], '1', '1')], []).network[0]?.nodes).toBe(1)
  })

  test('the current choice is always listed, even when nobody offers it and the catalog does not know it', () => {
    expect(modelChoices([], CATALOG, 'my-own-model').local[0]).toEqual({ id: 'my-own-model', name: 'my-own-model' })
    expect(modelChoices([], CATALOG, 'qwen').local.filter((choice) => choice.id === 'qwen')).toHaveLength(1)
  })

  test('a price that is not a decimal number is left out of the minimum', () => {
    expect(
      modelChoices([entry('a', ['qwen'], 'lots', '5'), entry('b', ['qwen'], '7', '-1')], []).network[0],
    ).toMatchObject({ cheapestInput: 7n, cheapestOutput: 5n })
  })
})
