/**
 * The deployment file: what a running Modelex network is made of (chain, contracts, relays). The local stack
 * writes it; the app and the SDK read it. Parsing is strict so a stale or hand-edited file fails loudly.
 *
 * Relays: `relay` is the first (or only) relay, as files have always said; a federated deployment also lists every
 * relay in `relays` (the first equal to `relay`). Read the list with `deploymentRelays`, which serves both forms.
 */
import { BaseError, registerErrorClass } from './errors/base.ts'

export type Address = `0x${string}`

export const CONTRACT_NAMES = [
  'AIToken',
  'NodeRegistry',
  'PaymentChannels',
  'ReceiptAnchor',
  'OracleRouter',
  'SentimentConsumer',
] as const
export type ContractName = (typeof CONTRACT_NAMES)[number]

export type Deployment = {
  /** Format version of this file. */
  version: 1
  chainId: number
  rpcUrl: string
  /** Block in which the first contract was deployed: where event indexing starts. */
  startBlock: number
  /** Contract addresses; absent until the contracts exist. */
  contracts: Partial<Record<ContractName, Address>>
  /** Multiaddr of the relay, or null when the stack runs none. With several relays: the first of `relays`. */
  relay: string | null
  /** Every relay of a federated deployment (multiaddrs with /p2p/<id>, distinct, the first equal to `relay`). */
  relays?: readonly string[]
}

/** The most relays one deployment may list. */
export const MAX_DEPLOYMENT_RELAYS = 64

/** Every relay of the deployment, in the file's order: `relays` when listed, else the single `relay`, else none. */
export function deploymentRelays(deployment: Pick<Deployment, 'relay' | 'relays'>): string[] {
  if (deployment.relays && deployment.relays.length > 0) return [...deployment.relays]
  return deployment.relay ? [deployment.relay] : []
}

export class InvalidDeploymentError extends BaseError {
  override name = 'InvalidDeploymentError' as const
  constructor(details: string) {
    super('The deployment file is invalid. Restart the local stack (npm start) to write a fresh one.', { details })
  }
}
registerErrorClass('InvalidDeploymentError', InvalidDeploymentError)

const ADDRESS = /^0x[0-9a-fA-F]{40}$/

export function parseDeployment(value: unknown): Deployment {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidDeploymentError('not a JSON object')
  const v = value as Record<string, unknown>
  if (v['version'] !== 1) throw new InvalidDeploymentError(`unsupported version ${JSON.stringify(v['version'])}`)
  const chainId = v['chainId']
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId <= 0)
    throw new InvalidDeploymentError('chainId must be a positive integer')
  const rpcUrl = v['rpcUrl']
  if (typeof rpcUrl !== 'string' || !/^(https?|wss?):\/\//.test(rpcUrl))
    throw new InvalidDeploymentError('rpcUrl must be an http(s) or ws(s) URL')
  const startBlock = v['startBlock']
  if (typeof startBlock !== 'number' || !Number.isSafeInteger(startBlock) || startBlock < 0)
    throw new InvalidDeploymentError('startBlock must be a non-negative integer')
  const isMultiaddr = (value: unknown): value is string =>
    typeof value === 'string' && value.startsWith('/') && value.length <= 1024
  const rawRelays = v['relays']
  let relays: string[] | undefined
  if (rawRelays !== undefined) {
    if (!Array.isArray(rawRelays) || rawRelays.length === 0 || rawRelays.length > MAX_DEPLOYMENT_RELAYS)
      throw new InvalidDeploymentError(`relays must be a list of 1 to ${MAX_DEPLOYMENT_RELAYS} multiaddrs`)
    if (!rawRelays.every(isMultiaddr)) throw new InvalidDeploymentError('relays must hold multiaddr strings')
    if (new Set(rawRelays).size !== rawRelays.length) throw new InvalidDeploymentError('relays lists a relay twice')
    relays = rawRelays
  }
  // A file with only `relays` names its first as `relay`, so readers of the single field still find one.
  const relay = v['relay'] === undefined && relays ? relays[0]! : v['relay']
  if (relay !== null && !isMultiaddr(relay))
    throw new InvalidDeploymentError('relay must be a multiaddr string or null')
  if (relays && relay !== relays[0]) throw new InvalidDeploymentError('relay must be the first of relays')
  const rawContracts = v['contracts']
  if (typeof rawContracts !== 'object' || rawContracts === null || Array.isArray(rawContracts))
    throw new InvalidDeploymentError('contracts must be an object')
  const contracts: Partial<Record<ContractName, Address>> = {}
  for (const [name, address] of Object.entries(rawContracts)) {
    if (!(CONTRACT_NAMES as readonly string[]).includes(name))
      throw new InvalidDeploymentError(`unknown contract ${name}`)
    if (typeof address !== 'string' || !ADDRESS.test(address))
      throw new InvalidDeploymentError(`contract ${name} has no valid address`)
    contracts[name as ContractName] = address as Address
  }
  return { version: 1, chainId, rpcUrl, startBlock, contracts, relay, ...(relays ? { relays } : {}) }
}
