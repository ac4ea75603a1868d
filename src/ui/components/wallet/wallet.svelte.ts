/**
 * The app's wallet: EIP-6963 injected wallets discovered through `@wagmi/core`, or, on the local devnet only, a
 * burner: a key kept in IndexedDB and funded from one of anvil's public test accounts (ETH for gas, AI to stake
 * or deposit). From an injected wallet, a session key: a key kept in IndexedDB that the injected wallet funds once
 * (two transactions), then opens channels and signs vouchers without asking — what paying per code suggestion
 * needs. Rune state for the wallet panel; the store, the deployment and the discovery are injectable.
 */
import { connect, createConfig, getConnectorClient, type Connector } from '@wagmi/core'
import { createPublicClient, createWalletClient, custom, http, parseEther, type Address } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { readContract, sendTransaction, waitForTransactionReceipt, writeContract } from 'viem/actions'
import { aiTokenAbi } from '../../../chain/generated.ts'
import type { WalletClient } from '../../../chain/actions/internal.ts'
import { DEVNET_CHAIN_ID, deploymentChain, fundFromDevnet } from '../../../chain/devnet-faucet.ts'
import type { Deployment } from '../../../core/deployment.ts'
import type { KeyValueStore } from '../../../store/kv.ts'
import { loadOrCreatePrivateKey } from '../../../store/signer-key.ts'

export { DEVNET_CHAIN_ID }

export type WalletKind = 'none' | 'burner' | 'injected' | 'session'
export type InjectedWallet = { id: string; name: string }

export class WalletState {
  kind = $state<WalletKind>('none')
  address = $state<Address | null>(null)
  /** The injected wallet that funded the session key, while one is in use. */
  fundedBy = $state<Address | null>(null)
  injected = $state<InjectedWallet[]>([])
  busy = $state(false)
  error = $state<string | null>(null)
  #client: WalletClient | null = null
  #connectors: readonly Connector[] = []
  #deployment: Deployment
  #store: KeyValueStore
  #role: string
  #funder: number

  /** `role` names the burner (one per view), `funder` the anvil account index that funds it. */
  constructor({
    deployment,
    store,
    role,
    funder,
  }: {
    deployment: Deployment
    store: KeyValueStore
    role: string
    funder: number
  }) {
    this.#deployment = deployment
    this.#store = store
    this.#role = role
    this.#funder = funder
  }

  get client(): WalletClient | null {
    return this.#client
  }

  get devnet(): boolean {
    return this.#deployment.chainId === DEVNET_CHAIN_ID
  }

  chain() {
    return deploymentChain(this.#deployment)
  }

  /** Lists the injected wallets the page announces (EIP-6963). */
  discover(): void {
    if (typeof window === 'undefined') return
    const chain = this.chain()
    const config = createConfig({
      chains: [chain],
      transports: { [chain.id]: http(this.#deployment.rpcUrl) },
      multiInjectedProviderDiscovery: true,
      storage: null,
    })
    const update = () => {
      this.#connectors = config.connectors
      this.injected = config.connectors.map((c) => ({ id: c.id, name: c.name }))
    }
    update()
    config.subscribe((s) => s, update)
    this.#connectInjected = async (id) => {
      const connector = this.#connectors.find((c) => c.id === id)
      if (!connector) throw new Error(`no wallet ${id}`)
      await connect(config, { connector, chainId: chain.id })
      const client = await getConnectorClient(config, { chainId: chain.id })
      return createWalletClient({
        account: client.account,
        chain,
        transport: custom(client),
        pollingInterval: 250,
      }) as WalletClient
    }
  }

  #connectInjected: ((id: string) => Promise<WalletClient>) | null = null

  async connectInjected(id: string): Promise<void> {
    await this.#run(async () => {
      if (!this.#connectInjected) throw new Error('No injected wallet was discovered.')
      this.#client = await this.#connectInjected(id)
      this.kind = 'injected'
      this.address = this.#client.account.address
    })
  }

  /** The devnet burner: created once, kept in IndexedDB, topped up to `ai` AI and some ETH when below. */
  async connectBurner(ai = parseEther('1000')): Promise<void> {
    await this.#run(async () => {
      if (!this.devnet) throw new Error('A burner wallet exists only on the local devnet (chain 31337).')
      const account = privateKeyToAccount(
        await loadOrCreatePrivateKey(this.#store, `burner-wallet-${this.#role}`, 'burner wallet key'),
      )
      await fundFromDevnet(this.#deployment, account.address, { funder: this.#funder, ai })
      this.#client = createWalletClient({
        account,
        chain: this.chain(),
        transport: http(this.#deployment.rpcUrl),
        pollingInterval: 100,
      })
      this.kind = 'burner'
      this.address = account.address
    })
  }

  /**
   * Switches from the connected injected wallet to a session key it funds: tops the key up to `ai` AI and `eth`
   * ETH (one transaction each, only when below), then pays and signs with the key alone.
   */
  async connectSession({
    ai = parseEther('100'),
    eth = parseEther('0.01'),
  }: { ai?: bigint; eth?: bigint } = {}): Promise<void> {
    await this.#run(async () => {
      const funder = this.#client
      if (this.kind !== 'injected' || !funder)
        throw new Error('Connect a browser wallet first: it funds the session key.')
      const account = privateKeyToAccount(
        await loadOrCreatePrivateKey(
          this.#store,
          `session-wallet-${this.#role}-${this.#deployment.chainId}`,
          'session key',
        ),
      )
      const chain = this.chain()
      const reader = createPublicClient({ chain, transport: http(this.#deployment.rpcUrl), pollingInterval: 250 })
      const gas = await reader.getBalance({ address: account.address })
      if (gas < eth / 2n)
        await waitForTransactionReceipt(reader, {
          hash: await sendTransaction(funder, {
            account: funder.account,
            to: account.address,
            value: eth - gas,
            chain,
          }),
        })
      const token = this.#deployment.contracts.AIToken
      if (token) {
        const balance = await readContract(reader, {
          address: token,
          abi: aiTokenAbi,
          functionName: 'balanceOf',
          args: [account.address],
        })
        if (balance < ai)
          await waitForTransactionReceipt(reader, {
            hash: await writeContract(funder, {
              account: funder.account,
              address: token,
              abi: aiTokenAbi,
              functionName: 'transfer',
              args: [account.address, ai - balance],
              chain,
            }),
          })
      }
      this.fundedBy = funder.account.address
      this.#client = createWalletClient({
        account,
        chain,
        transport: http(this.#deployment.rpcUrl),
        pollingInterval: 250,
      })
      this.kind = 'session'
      this.address = account.address
    })
  }

  async #run(work: () => Promise<void>): Promise<void> {
    this.busy = true
    this.error = null
    try {
      await work()
    } catch (error) {
      this.error = error instanceof Error ? (error.message.split('\n')[0] ?? 'error') : String(error)
      throw error
    } finally {
      this.busy = false
    }
  }
}
