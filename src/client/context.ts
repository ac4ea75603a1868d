/**
 * What every SDK action works with: the deployment's addresses, the chain reader, the wallet, the libp2p node and
 * directory (once started), the persisted channels and receipts, the spend limits, and one lock per node so two
 * requests to one node never sign vouchers out of order. `createClient` builds one and binds the actions to it.
 */
import type { Address, Client } from 'viem'
import type { WalletClient } from '../chain/actions/internal.ts'
import type { SpendLimits } from '../core/bounds.ts'
import type { ConsumerChannel } from '../core/credit.ts'
import type { Deployment } from '../core/deployment.ts'
import type { NodeDirectory } from '../p2p/directory.ts'
import type { ModelexNode } from '../p2p/node.ts'
import type { Document } from '../store/payments.ts'
import type { JsonValue } from '../core/errors/base.ts'
import type { DirectoryEntry } from '../core/directory.ts'
import type { NodeBackoff } from '../core/routing.ts'
import type { Hex } from 'viem'
import type { SignerCache } from '../core/signature.ts'
import type { ReputationLookup, ReputationRequirement } from './actions/findNodes.ts'

/** Receipts kept by the consumer: the signed receipt (wire form), the serving peer and the request's cost. */
export type StoredReceipt = { peer: string; receipt: JsonValue; cost: bigint; at: number }
export type ConsumerState = { channels: Record<string, ConsumerChannel>; receipts: StoredReceipt[] }

export type ClientContext = {
  deployment: Deployment
  wallet: WalletClient
  publicClient: Client
  account: Address
  addresses: { token: Address; channels: Address; anchor: Address; registry: Address }
  limits: SpendLimits
  channelDeposit: bigint
  latencyBarMs: number
  discoveryTimeoutMs: number
  /** Starts the node and directory on first use and loads the state. */
  ready(): Promise<{ node: ModelexNode; directory: NodeDirectory; state: ConsumerState }>
  document: Document<ConsumerState>
  /** Node signers' keys once seen: every later receipt of a node is checked against its key (`core/signature.ts`). */
  signers: SignerCache
  /** When each open channel (by id) was last read from the chain (`ensureChannel`), in ms since the epoch. */
  channelReads: Map<string, number>
  /** Runs `work` alone for one key (a node's operator). */
  exclusive<T>(key: string, work: () => Promise<T>): Promise<T>
  /** The registry's prices for an operator, read at most every few seconds. */
  registeredPrices(
    operator: Address,
  ): Promise<{ active: boolean; signer: Address; pricePerMillionInput: bigint; pricePerMillionOutput: bigint }>
  /** Nodes' reputations (the app's attestation book), and what automatic choice requires of them. */
  reputation?: ReputationLookup | undefined
  routing?: ReputationRequirement | undefined
  /** Nodes left alone for now: a BUSY's retry-after, a node that could not be reached (shared by every request). */
  backoff: NodeBackoff
  /** Automatic choice tries at most this many nodes for one request (each refused or failed before its first token). */
  maxAttempts: number
  /** A node this consumer must not route to: a proven equivocator, or flagged by its spot checks. */
  isFlagged?: ((entry: DirectoryEntry, contentHash: Hex) => boolean) | undefined
  /** A voucher was signed to this node: it holds credit and should get a final voucher once the consumer is done. */
  onVoucher?: ((node: { operator: Address; peer: string; signer: Address }) => void) | undefined
}
