/**
 * The app's wallet: EIP-6963 injected wallets discovered through `@wagmi/core`, or, on the local devnet only, a
 * burner: a key kept in IndexedDB and funded from one of anvil's public test accounts (ETH for gas, AI to stake
 * or deposit). Rune state for the wallet panel; the store, the deployment and the discovery are injectable.
 */
import { connect, createConfig, getConnectorClient, type Connector } from '@wagmi/core'
import { createPublicClient, createWalletClient, custom, defineChain, http, parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { readContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import type { WalletClient } from '../../../chain/actions/internal.ts'
import { aiTokenAbi } from '../../../chain/generated.ts'
import type { Deployment } from '../../../core/deployment.ts'
import type { KeyValueStore } from '../../../store/kv.ts'

/** anvil's public test mnemonic: its accounts are funded on the devnet and worthless anywhere else. */
const DEVNET_MNEMONIC = 'test test test test test test test test test test test junk'
export const DEVNET_CHAIN_ID = 31337

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
    return defineChain({ id: this.#deployment.chainId, name: this.devnet ? 'Modelex devnet' : `Chain ${this.#deployment.chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [this.#deployment.rpcUrl] } } })
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
      const transport = http(this.#deployment.rpcUrl)
      const chain = this.chain()
      const reader = createPublicClient({ chain, transport, pollingInterval: 100 })
      const funder = createWalletClient({ account: mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: this.#funder }), chain, transport, pollingInterval: 100 })
      if ((await reader.getBalance({ address: account.address })) < parseEther('1')) {
        await waitForTransactionReceipt(reader, { hash: await funder.sendTransaction({ to: account.address, value: parseEther('5') }) })
      }
      const token = this.#deployment.contracts.AIToken
      if (token) {
        const balance = await readContract(reader, { address: token, abi: aiTokenAbi, functionName: 'balanceOf', args: [account.address] })
        if (balance < ai) await waitForTransactionReceipt(reader, { hash: await writeContract(funder, { address: token, abi: aiTokenAbi, functionName: 'transfer', args: [account.address, ai - balance], chain }) })
      }
      this.#client = createWalletClient({ account, chain, transport, pollingInterval: 100 })
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
