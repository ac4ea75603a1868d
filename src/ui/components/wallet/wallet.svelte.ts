/**
 * The app's wallet: EIP-6963 injected wallets discovered through `@wagmi/core`, or, on the local devnet only, a
 * burner: a key kept in IndexedDB and funded from one of anvil's public test accounts (ETH for gas, AI to stake
 * or deposit). Rune state for the wallet panel; the store, the deployment and the discovery are injectable.
 */
import { connect, createConfig, getConnectorClient, type Connector } from '@wagmi/core'
import { createWalletClient, custom, http, parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { WalletClient } from '../../../chain/actions/internal.ts'
import { DEVNET_CHAIN_ID, deploymentChain, fundFromDevnet } from '../../../chain/devnet-faucet.ts'
import type { Deployment } from '../../../core/deployment.ts'
import type { KeyValueStore } from '../../../store/kv.ts'

export { DEVNET_CHAIN_ID }

export type WalletKind = 'none' | 'burner' | 'injected'
export type InjectedWallet = { id: string; name: string }

export class WalletState {
  kind = $state<WalletKind>('none')
  address = $state<Address | null>(null)
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
  constructor({ deployment, store, role, funder }: { deployment: Deployment; store: KeyValueStore; role: string; funder: number }) {
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
    const config = createConfig({ chains: [chain], transports: { [chain.id]: http(this.#deployment.rpcUrl) }, multiInjectedProviderDiscovery: true, storage: null })
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
      return createWalletClient({ account: client.account, chain, transport: custom(client), pollingInterval: 250 }) as WalletClient
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
      const key = `burner-wallet-${this.#role}`
      let privateKey = (await this.#store.get(key)) as Hex | undefined
      if (typeof privateKey !== 'string') {
        privateKey = generatePrivateKey()
        await this.#store.set(key, privateKey)
      }
      const account = privateKeyToAccount(privateKey)
      await fundFromDevnet(this.#deployment, account.address, { funder: this.#funder, ai })
      this.#client = createWalletClient({ account, chain: this.chain(), transport: http(this.#deployment.rpcUrl), pollingInterval: 100 })
      this.kind = 'burner'
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
