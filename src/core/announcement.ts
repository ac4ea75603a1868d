/**
 * Node announcements: what a provider tells the network about itself (models, prices, capacity), signed with the
 * node signer as EIP-712 typed data, and published on one gossip topic per model (`modelex/1/nodes/<content hash>`)
 * so consumers only hear about the models they want. Here are the format, its strict decoder, signing, and the
 * validator every peer runs before a message is accepted or forwarded.
 */
import { getAddress, isAddress, recoverTypedDataAddress, type Hex } from 'viem'
import { signTypedData } from 'viem/accounts'
import type { Address } from './deployment.ts'
import { InvalidAnnouncementError, MalformedMessageError, type AnnouncementRejection } from './errors/p2p.ts'
import { array, decodeJson, encodeJson, fail, finite, integer, object, only, string } from './wire/check.ts'

export const ANNOUNCEMENT_VERSION = 1
export const ANNOUNCEMENT_TOPIC_PREFIX = 'modelex/1/nodes/'
export const MAX_ANNOUNCEMENT_BYTES = 8 * 1024
/** Announcements further than this from our clock are dropped. */
export const MAX_CLOCK_SKEW_MS = 2 * 60 * 1000
export const MAX_ANNOUNCED_MODELS = 16

export type AnnouncedModel = {
  id: string
  /** bytes32 hex, lower case: the model's identity on the network. */
  contentHash: Hex
  engine: string
  contextLength: number
  /** Measured decode speed, with at most 3 decimals (signed as milli-tokens per second). */
  tokensPerSecond: number
}

export type UnsignedAnnouncement = {
  version: typeof ANNOUNCEMENT_VERSION
  peerId: string
  signer: Address
  operator: Address
  chainId: number
  models: AnnouncedModel[]
  /** Token base units (decimal strings: they exceed 2^53). */
  pricePerMillionInput: string
  pricePerMillionOutput: string
  /** Requests the node runs at once, and requests waiting now. */
  capacity: number
  queueDepth: number
  /** Strictly increasing per node and topic; nodes start from the clock so a restart keeps it increasing. */
  sequence: number
  /** Milliseconds since the epoch. */
  timestamp: number
}

export type Announcement = UnsignedAnnouncement & { signature: Hex }

export function announcementTopic(contentHash: string): string {
  return `${ANNOUNCEMENT_TOPIC_PREFIX}${contentHash.toLowerCase()}`
}

/** The content hash a topic is about, or null for topics that are not announcement topics. */
export function topicContentHash(topic: string): Hex | null {
  if (!topic.startsWith(ANNOUNCEMENT_TOPIC_PREFIX)) return null
  const hash = topic.slice(ANNOUNCEMENT_TOPIC_PREFIX.length)
  return BYTES32.test(hash) ? (hash as Hex) : null
}

export const ANNOUNCEMENT_TYPES = {
  Model: [
    { name: 'id', type: 'string' },
    { name: 'contentHash', type: 'bytes32' },
    { name: 'engine', type: 'string' },
    { name: 'contextLength', type: 'uint32' },
    { name: 'milliTokensPerSecond', type: 'uint64' },
  ],
  Announcement: [
    { name: 'version', type: 'uint16' },
    { name: 'peerId', type: 'string' },
    { name: 'signer', type: 'address' },
    { name: 'operator', type: 'address' },
    { name: 'chainId', type: 'uint256' },
    { name: 'models', type: 'Model[]' },
    { name: 'pricePerMillionInput', type: 'uint256' },
    { name: 'pricePerMillionOutput', type: 'uint256' },
    { name: 'capacity', type: 'uint32' },
    { name: 'queueDepth', type: 'uint32' },
    { name: 'sequence', type: 'uint64' },
    { name: 'timestamp', type: 'uint64' },
  ],
} as const

export function announcementTypedData(announcement: UnsignedAnnouncement) {
  return {
    domain: { name: 'Modelex', version: '1', chainId: announcement.chainId },
    types: ANNOUNCEMENT_TYPES,
    primaryType: 'Announcement' as const,
    message: {
      version: announcement.version,
      peerId: announcement.peerId,
      signer: announcement.signer,
      operator: announcement.operator,
      chainId: BigInt(announcement.chainId),
      models: announcement.models.map((m) => ({
        id: m.id,
        contentHash: m.contentHash,
        engine: m.engine,
        contextLength: m.contextLength,
        milliTokensPerSecond: BigInt(Math.round(m.tokensPerSecond * 1000)),
      })),
      pricePerMillionInput: BigInt(announcement.pricePerMillionInput),
      pricePerMillionOutput: BigInt(announcement.pricePerMillionOutput),
      capacity: announcement.capacity,
      queueDepth: announcement.queueDepth,
      sequence: BigInt(announcement.sequence),
      timestamp: BigInt(announcement.timestamp),
    },
  }
}

export async function signAnnouncement(announcement: UnsignedAnnouncement, signerKey: Hex): Promise<Announcement> {
  const signature = await signTypedData({ privateKey: signerKey, ...announcementTypedData(announcement) })
  return { ...announcement, signature }
}

export async function recoverAnnouncementSigner(announcement: Announcement): Promise<Address> {
  const { signature, ...unsigned } = announcement
  return recoverTypedDataAddress({ ...announcementTypedData(unsigned), signature })
}

export function encodeAnnouncement(announcement: Announcement): Uint8Array {
  const bytes = encodeJson(announcement)
  if (bytes.length > MAX_ANNOUNCEMENT_BYTES)
    throw new InvalidAnnouncementError({
      reason: 'too-large',
      details: `${bytes.length} bytes > ${MAX_ANNOUNCEMENT_BYTES}`,
    })
  return bytes
}

const BYTES32 = /^0x[0-9a-f]{64}$/
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/
const UINT256 = /^(0|[1-9][0-9]{0,77})$/
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{32,128}$/

/** Strict decoding: size first, then every field; throws `InvalidAnnouncementError` with reason schema or too-large. */
export function decodeAnnouncement(bytes: Uint8Array): Announcement {
  if (bytes.length > MAX_ANNOUNCEMENT_BYTES)
    throw new InvalidAnnouncementError({
      reason: 'too-large',
      details: `${bytes.length} bytes > ${MAX_ANNOUNCEMENT_BYTES}`,
    })
  try {
    return parseAnnouncement(decodeJson(bytes))
  } catch (error) {
    if (error instanceof MalformedMessageError)
      throw new InvalidAnnouncementError({ reason: 'schema', details: error.details ?? error.message, cause: error })
    throw error
  }
}

function parseAnnouncement(value: unknown): Announcement {
  const a = object(value, 'announcement')
  only(a, 'announcement', [
    'version',
    'peerId',
    'signer',
    'operator',
    'chainId',
    'models',
    'pricePerMillionInput',
    'pricePerMillionOutput',
    'capacity',
    'queueDepth',
    'sequence',
    'timestamp',
    'signature',
  ])
  if (a['version'] !== ANNOUNCEMENT_VERSION) fail('announcement.version', `${ANNOUNCEMENT_VERSION}`)
  const peerId = string(a['peerId'], 'announcement.peerId', 128, 32)
  if (!PEER_ID.test(peerId)) fail('announcement.peerId', 'a base58 peer id')
  const models = array(a['models'], 'announcement.models', MAX_ANNOUNCED_MODELS, 1).map((m, i) =>
    parseModel(m, `announcement.models[${i}]`),
  )
  if (new Set(models.map((m) => m.contentHash)).size !== models.length)
    fail('announcement.models', 'distinct content hashes')
  const signature = string(a['signature'], 'announcement.signature', 132)
  if (!SIGNATURE.test(signature)) fail('announcement.signature', 'a 65-byte hex signature')
  return {
    version: ANNOUNCEMENT_VERSION,
    peerId,
    signer: address(a['signer'], 'announcement.signer'),
    operator: address(a['operator'], 'announcement.operator'),
    chainId: integer(a['chainId'], 'announcement.chainId', 1, Number.MAX_SAFE_INTEGER),
    models,
    pricePerMillionInput: uint256(a['pricePerMillionInput'], 'announcement.pricePerMillionInput'),
    pricePerMillionOutput: uint256(a['pricePerMillionOutput'], 'announcement.pricePerMillionOutput'),
    capacity: integer(a['capacity'], 'announcement.capacity', 0, 2 ** 32 - 1),
    queueDepth: integer(a['queueDepth'], 'announcement.queueDepth', 0, 2 ** 32 - 1),
    sequence: integer(a['sequence'], 'announcement.sequence', 0, Number.MAX_SAFE_INTEGER),
    timestamp: integer(a['timestamp'], 'announcement.timestamp', 0, Number.MAX_SAFE_INTEGER),
    // Hex case carries no meaning: lower-case, so one signature has one form (as the signer wrote it).
    signature: signature.toLowerCase() as Hex,
  }
}

function parseModel(value: unknown, path: string): AnnouncedModel {
  const m = object(value, path)
  only(m, path, ['id', 'contentHash', 'engine', 'contextLength', 'tokensPerSecond'])
  const contentHash = string(m['contentHash'], `${path}.contentHash`, 66)
  if (!BYTES32.test(contentHash)) fail(`${path}.contentHash`, 'a lower-case bytes32 hex string')
  const tokensPerSecond = finite(m['tokensPerSecond'], `${path}.tokensPerSecond`, 0, 1_000_000)
  // Only values that survive the milli-token encoding, so what is shown is exactly what was signed.
  if (Math.round(tokensPerSecond * 1000) / 1000 !== tokensPerSecond)
    fail(`${path}.tokensPerSecond`, 'at most 3 decimals')
  return {
    id: string(m['id'], `${path}.id`, 256, 1),
    contentHash: contentHash as Hex,
    engine: string(m['engine'], `${path}.engine`, 32, 1),
    contextLength: integer(m['contextLength'], `${path}.contextLength`, 1, 2 ** 32 - 1),
    tokensPerSecond,
  }
}

function address(value: unknown, path: string): Address {
  const text = string(value, path, 42)
  if (!isAddress(text, { strict: false })) fail(path, 'an address')
  return getAddress(text)
}

function uint256(value: unknown, path: string): string {
  const text = string(value, path, 78)
  if (!UINT256.test(text) || BigInt(text) >= 2n ** 256n) fail(path, 'a decimal uint256 string')
  return text
}

export type AnnouncementContext = {
  /** The gossip topic the message came on; the announcement must list the topic's model. */
  topic: string
  /** The gossip message's author (StrictSign); must be the announced peer id. */
  from?: string | undefined
}

export type AnnouncementValidatorOptions = {
  now?: () => number
  maxSkewMs?: number
  /** How many (peer, topic) sequence counters to keep; the oldest are forgotten beyond it. */
  maxTracked?: number
}

export type AnnouncementValidator = {
  /** Resolves to the announcement, or rejects with `InvalidAnnouncementError`. Never throws anything else. */
  validate(bytes: Uint8Array, context: AnnouncementContext): Promise<Announcement>
}

/**
 * The gossip validator's logic: size, schema, topic, author, clock, sequence, then the signature (the costly check
 * last). The sequence counter only moves for announcements that passed every check, so a forged message cannot
 * block the real node's next one.
 */
export function createAnnouncementValidator({
  now = Date.now,
  maxSkewMs = MAX_CLOCK_SKEW_MS,
  maxTracked = 10_000,
}: AnnouncementValidatorOptions = {}): AnnouncementValidator {
  const sequences = new Map<string, number>()
  const refuse = (reason: AnnouncementRejection, details: string): never => {
    throw new InvalidAnnouncementError({ reason, details })
  }
  return {
    async validate(bytes, { topic, from }) {
      const announcement = decodeAnnouncement(bytes)
      const topicHash = topicContentHash(topic)
      if (!topicHash || !announcement.models.some((m) => m.contentHash === topicHash))
        refuse('wrong-topic', `topic ${topic} is not about a model this announcement lists`)
      if (from !== undefined && from !== announcement.peerId)
        refuse('peer-mismatch', `published by ${from}, announces ${announcement.peerId}`)
      const skew = announcement.timestamp - now()
      if (Math.abs(skew) > maxSkewMs)
        refuse('stale', `timestamp is ${Math.round(skew / 1000)} s from our clock (limit ${maxSkewMs / 1000} s)`)
      const key = `${announcement.peerId}\n${topic}`
      const last = sequences.get(key)
      if (last !== undefined && announcement.sequence <= last)
        refuse('sequence', `sequence ${announcement.sequence} after ${last}`)
      let recovered: Address
      try {
        recovered = await recoverAnnouncementSigner(announcement)
      } catch (error) {
        throw new InvalidAnnouncementError({
          reason: 'bad-signature',
          details: 'the signature does not recover to any address',
          cause: error,
        })
      }
      if (recovered !== announcement.signer)
        refuse('signer-mismatch', `signed by ${recovered}, declares ${announcement.signer}`)
      // Re-check: another message for this key may have been accepted while we awaited the signature.
      const latest = sequences.get(key)
      if (latest !== undefined && announcement.sequence <= latest)
        refuse('sequence', `sequence ${announcement.sequence} after ${latest}`)
      sequences.delete(key)
      sequences.set(key, announcement.sequence)
      if (sequences.size > maxTracked) sequences.delete(sequences.keys().next().value as string)
      return announcement
    },
  }
}
