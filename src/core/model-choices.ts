/**
 * What a consumer can pick as a model: the models nodes on the network announce (with how many nodes serve each
 * and the lowest prices asked), then the models this app knows from its catalog that no node offers right now.
 * A picker shows the first group as "on the network" and the second as "known models"; the current choice always
 * appears, so a model typed by hand or remembered is never dropped from the list.
 */
import type { DirectoryEntry } from './directory.ts'
import type { ModelRecord } from './models.ts'

export type NetworkModelChoice = {
  id: string
  /** Distinct nodes announcing it. */
  nodes: number
  /** The lowest input and output prices among them, AI wei per million tokens. */
  cheapestInput: bigint
  cheapestOutput: bigint
}

export type LocalModelChoice = { id: string; name: string }

export type ModelChoices = { network: NetworkModelChoice[]; local: LocalModelChoice[] }

/** Prices are decimal strings in announcements; one that does not parse is left out of the minimum. */
function units(value: string): bigint | null {
  return /^\d{1,78}$/.test(value) ? BigInt(value) : null
}

export function modelChoices(
  entries: readonly DirectoryEntry[],
  catalog: readonly Pick<ModelRecord, 'id' | 'name'>[],
  selected?: string,
): ModelChoices {
  const offered = new Map<string, { peers: Set<string>; input: bigint | null; output: bigint | null }>()
  for (const entry of entries) {
    const input = units(entry.announcement.pricePerMillionInput)
    const output = units(entry.announcement.pricePerMillionOutput)
    for (const model of entry.announcement.models) {
      const seen = offered.get(model.id) ?? { peers: new Set<string>(), input: null, output: null }
      seen.peers.add(entry.peerId)
      if (input !== null && (seen.input === null || input < seen.input)) seen.input = input
      if (output !== null && (seen.output === null || output < seen.output)) seen.output = output
      offered.set(model.id, seen)
    }
  }
  const network = [...offered]
    .map(([id, seen]) => ({
      id,
      nodes: seen.peers.size,
      cheapestInput: seen.input ?? 0n,
      cheapestOutput: seen.output ?? 0n,
    }))
    .sort((a, b) => b.nodes - a.nodes || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const local: LocalModelChoice[] = []
  const listed = new Set(network.map((choice) => choice.id))
  for (const record of catalog) {
    if (listed.has(record.id)) continue
    listed.add(record.id)
    local.push({ id: record.id, name: record.name })
  }
  if (selected && !listed.has(selected)) local.unshift({ id: selected, name: selected })
  return { network, local }
}
