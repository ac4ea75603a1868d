/** Test helpers for announcements: fixed keys and peer ids, a valid announcement, and fast-check generators. */
import fc from 'fast-check'
import type { Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { ANNOUNCEMENT_VERSION, type AnnouncedModel, type UnsignedAnnouncement } from './announcement.ts'

export const SIGNER_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
export const OTHER_KEY: Hex = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'
export const PEER_ID = '12D3KooWKFJfNTgPMUj766ajhirzB27mwHQNyh8XEHFfS8e6gdE3'
export const OTHER_PEER_ID = '12D3KooWJ7JBe2o9ScA5Bw7pRXicGwzw1USTj7FSUuunmgd2FXyo'
export const MODEL_HASH: Hex = `0x${'11'.repeat(32)}`

export function unsignedAnnouncement(overrides: Partial<UnsignedAnnouncement> = {}): UnsignedAnnouncement {
  return {
    version: ANNOUNCEMENT_VERSION,
    peerId: PEER_ID,
    signer: privateKeyToAddress(SIGNER_KEY),
    operator: privateKeyToAddress(OTHER_KEY),
    chainId: 31337,
    models: [
      { id: 'memory-tiny', contentHash: MODEL_HASH, engine: 'memory', contextLength: 4096, tokensPerSecond: 42.125 },
    ],
    pricePerMillionInput: '1000000000000000000',
    pricePerMillionOutput: '2000000000000000000',
    capacity: 2,
    queueDepth: 0,
    sequence: 1,
    timestamp: 1_700_000_000_000,
    ...overrides,
  }
}

const hash = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => `0x${[...b].map((x) => x.toString(16).padStart(2, '0')).join('')}` as Hex)
const model: fc.Arbitrary<AnnouncedModel> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 40 }),
  contentHash: hash,
  engine: fc.constantFrom('webgpu', 'wasm', 'memory'),
  contextLength: fc.integer({ min: 1, max: 2 ** 20 }),
  tokensPerSecond: fc.integer({ min: 0, max: 10_000_000 }).map((milli) => milli / 1000),
})

export const arbitraryUnsignedAnnouncement: fc.Arbitrary<UnsignedAnnouncement> = fc
  .record({
    models: fc.uniqueArray(model, { minLength: 1, maxLength: 4, selector: (m) => m.contentHash }),
    pricePerMillionInput: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }).map(String),
    pricePerMillionOutput: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }).map(String),
    capacity: fc.nat({ max: 64 }),
    queueDepth: fc.nat({ max: 1000 }),
    sequence: fc.nat(),
    timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    chainId: fc.integer({ min: 1, max: 2 ** 40 }),
  })
  .map((fields) => unsignedAnnouncement(fields))
