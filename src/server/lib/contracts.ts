/**
 * Builds the Foundry project in `contracts/` (when its artifacts are missing or older than its sources) and
 * deploys it to a chain with viem: every contract, the verifier role for ReceiptAnchor, the sentiment template,
 * and on a devnet AI for anvil's test accounts. Used by the local stack, the integration tests and the gas bench.
 */
import { spawn } from 'node:child_process'
import { readdir, readFile, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createWalletClient, getAddress, http, publicActions, type Abi, type Hex } from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import {
  DEVNET_PARAMETERS,
  SENTIMENT_MODEL_HASH,
  SENTIMENT_TEMPLATE_HASH,
  SENTIMENT_TEMPLATE_TEXT,
} from '../../chain/constants.ts'
import { aiTokenAbi, nodeRegistryAbi, oracleRouterAbi } from '../../chain/generated.ts'
import type { Address, ContractName } from '../../core/deployment.ts'
import { ContractsBuildError, DeploymentFailedError } from '../../core/errors/chain.ts'
import { DEVNET_CHAIN_ID, DEVNET_MNEMONIC } from './anvil.ts'
import { foundryBinary } from './foundry.ts'

export type DeployContractsParameters = {
  rpcUrl: string
  /** Deployer and governor key (on the devnet: anvil's first account). */
  privateKey: `0x${string}`
  log?: (line: string) => void
}

export type DeployContractsReturnType = {
  contracts: Partial<Record<ContractName, Address>>
  startBlock: number
}

export const CONTRACTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../contracts')

export type ContractArtifact = { abi: Abi; bytecode: Hex }

/** Runs `forge build` for the contracts (not tests or scripts) unless the artifacts are newer than the sources. */
export async function buildContracts({
  log = () => {},
  force = false,
}: { log?: (line: string) => void; force?: boolean } = {}): Promise<void> {
  if (!force && !(await artifactsStale())) return
  log('building contracts (forge build; solc-js takes a while on a cold cache)')
  const output: string[] = []
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    const child = spawn(foundryBinary('forge'), ['build', '--skip', 'test', '--skip', 'script'], {
      cwd: CONTRACTS_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')))
    child.once('error', reject)
    child.once('exit', resolvePromise)
  }).catch((cause: unknown) => {
    throw new ContractsBuildError({ output: output.join(''), cause })
  })
  if (code !== 0) throw new ContractsBuildError({ output: output.join('') })
}

/** The ABI and creation bytecode of a built contract. */
export async function loadArtifact(name: ContractName): Promise<ContractArtifact> {
  const json = JSON.parse(await readFile(artifactPath(name), 'utf8')) as { abi: Abi; bytecode: { object: Hex } }
  return { abi: json.abi, bytecode: json.bytecode.object }
}

export async function deployContracts({
  rpcUrl,
  privateKey,
  log = () => {},
}: DeployContractsParameters): Promise<DeployContractsReturnType> {
  await buildContracts({ log })
  const account = privateKeyToAccount(privateKey)
  const client = createWalletClient({
    account,
    transport: http(rpcUrl, { retryCount: 0 }),
    pollingInterval: 50,
  }).extend(publicActions)
  const chainId = await client.getChainId()

  let startBlock: number | undefined
  const deploy = async (name: ContractName, args: readonly unknown[]): Promise<Address> => {
    const step = async () => {
      const { abi, bytecode } = await loadArtifact(name)
      const hash = await client.deployContract({ abi, bytecode, args, chain: null })
      const receipt = await client.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deploying ${name} reverted`)
      startBlock ??= Number(receipt.blockNumber)
      const address = getAddress(receipt.contractAddress)
      log(`${name} at ${address}`)
      return address
    }
    return step().catch((cause: unknown) => {
      throw new DeploymentFailedError({ step: `deploy ${name}`, cause })
    })
  }
  const send = async (step: string, request: () => Promise<Hex>): Promise<void> => {
    try {
      const receipt = await client.waitForTransactionReceipt({ hash: await request() })
      if (receipt.status !== 'success') throw new Error(`${step} reverted`)
    } catch (cause) {
      throw new DeploymentFailedError({ step, cause })
    }
  }

  const governor = account.address
  const p = DEVNET_PARAMETERS
  const token = await deploy('AIToken', [governor, governor, p.splitPauseBlocks])
  const registry = await deploy('NodeRegistry', [token, governor, p.minStake, p.unbondingDelay])
  const channels = await deploy('PaymentChannels', [token, registry, p.challengePeriod])
  const anchor = await deploy('ReceiptAnchor', [registry])
  const router = await deploy('OracleRouter', [token, registry, governor])

  const verifierRole = await client.readContract({
    address: registry,
    abi: nodeRegistryAbi,
    functionName: 'VERIFIER_ROLE',
  })
  await send('grant ReceiptAnchor the verifier role', () =>
    client.writeContract({
      address: registry,
      abi: nodeRegistryAbi,
      functionName: 'grantRole',
      args: [verifierRole, anchor],
      chain: null,
    }),
  )
  const { result: templateHash, request } = await client.simulateContract({
    address: router,
    abi: oracleRouterAbi,
    functionName: 'registerTemplate',
    args: [SENTIMENT_TEMPLATE_TEXT, SENTIMENT_MODEL_HASH],
  })
  // The router hashes the canonical JSON it was sent, so its hash is the template's id (what nodes opt in to).
  if (templateHash !== SENTIMENT_TEMPLATE_HASH)
    throw new DeploymentFailedError({
      step: 'register the sentiment template',
      cause: new Error(`the router hashed it to ${templateHash}, not ${SENTIMENT_TEMPLATE_HASH}`),
    })
  await send('register the sentiment template', () => client.writeContract({ ...request, chain: null }))
  const sentiment = await deploy('SentimentConsumer', [router, token, templateHash])

  if (chainId === DEVNET_CHAIN_ID) {
    for (let i = 1; i < 10; i++) {
      const to = mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: i }).address
      await send(`fund ${to}`, () =>
        client.writeContract({
          address: token,
          abi: aiTokenAbi,
          functionName: 'transfer',
          args: [to, p.accountFunding],
          chain: null,
        }),
      )
    }
    log(`funded anvil accounts 1-9 with ${p.accountFunding / 10n ** 18n} AI each`)
  }

  return {
    contracts: {
      AIToken: token,
      NodeRegistry: registry,
      PaymentChannels: channels,
      ReceiptAnchor: anchor,
      OracleRouter: router,
      SentimentConsumer: sentiment,
    },
    startBlock: startBlock ?? 0,
  }
}

const ARTIFACT_NAMES: readonly ContractName[] = [
  'AIToken',
  'NodeRegistry',
  'PaymentChannels',
  'ReceiptAnchor',
  'OracleRouter',
  'SentimentConsumer',
]

function artifactPath(name: ContractName): string {
  return join(CONTRACTS_DIR, 'out', `${name}.sol`, `${name}.json`)
}

async function artifactsStale(): Promise<boolean> {
  let oldestArtifact = Infinity
  for (const name of ARTIFACT_NAMES) {
    const info = await stat(artifactPath(name)).catch(() => null)
    if (!info) return true
    oldestArtifact = Math.min(oldestArtifact, info.mtimeMs)
  }
  const sources = [join(CONTRACTS_DIR, 'foundry.toml'), ...(await listFiles(join(CONTRACTS_DIR, 'src')))]
  for (const file of sources) {
    if ((await stat(file)).mtimeMs > oldestArtifact) return true
  }
  return false
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? listFiles(join(dir, entry.name)) : Promise.resolve([join(dir, entry.name)]),
    ),
  )
  return nested.flat()
}
