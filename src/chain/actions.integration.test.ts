/**
 * The node, channel and slashing actions end to end against anvil, with the contracts deployed by
 * `deployContracts`: update a node, top up and close a channel, unbond, deregister and withdraw stake, prove
 * equivocation (the oracle actions are in `oracle.integration.test.ts`). Fresh accounts (funded from anvil account
 * 7) keep it independent of the other integration files sharing the chain.
 */
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  keccak256,
  parseEther,
  toHex,
  type Address,
} from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { readContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { ContractRevertedError } from '../core/errors/chain.ts'
import type { Receipt } from '../core/receipt.ts'
import {
  deregisterNode,
  finishChannelClose,
  getChannel,
  openChannel,
  proveEquivocation,
  redeemVouchers,
  registerNode,
  signReceipt,
  signSignerBinding,
  signVoucher,
  startChannelClose,
  topUpChannel,
  unbondStake,
  updateNode,
  withdrawStake,
  type NodeDeclaration,
} from './actions/index.ts'
import { DEVNET_PARAMETERS } from './constants.ts'
import { aiTokenAbi, nodeRegistryAbi } from './generated.ts'
import type { ContractName } from '../core/deployment.ts'
import { deployedContract } from '../server/testing/contracts.ts'

const deployment = inject('deployment')
const contract = (name: ContractName): Address => deployedContract(deployment, name)
const token = contract('AIToken')
const registry = contract('NodeRegistry')
const channels = contract('PaymentChannels')
const anchor = contract('ReceiptAnchor')
const chainId = deployment.chainId
const transport = http(deployment.rpcUrl)
const pollingInterval = 50
const publicClient = createPublicClient({ transport, pollingInterval })
const testClient = createTestClient({ mode: 'anvil', transport })

const fresh = () => privateKeyToAccount(generatePrivateKey())
const wallet = (account: PrivateKeyAccount) => createWalletClient({ account, transport, pollingInterval })
const [operatorA, signerA, operatorB, signerB, operatorC, consumer, requester, prover] = Array.from(
  { length: 8 },
  fresh,
) as [
  PrivateKeyAccount,
  PrivateKeyAccount,
  PrivateKeyAccount,
  PrivateKeyAccount,
  PrivateKeyAccount,
  PrivateKeyAccount,
  PrivateKeyAccount,
  PrivateKeyAccount,
]
const signerC = fresh()

const MODEL = keccak256(toHex('modelex:actions-integration-model'))
const MIN = DEVNET_PARAMETERS.minStake
const declaration = (signer: Address, name: string): NodeDeclaration => ({
  peerId: toHex(`peer-actions-${name}-${signer}`),
  signer,
  models: [MODEL],
  pricePerMillionInput: 10n ** 15n,
  pricePerMillionOutput: 2n * 10n ** 15n,
  metadataURI: `ipfs://actions-${name}`,
})

/** The signer's consent to serve `operator` with the declaration's peer id. */
const consent = (operator: PrivateKeyAccount, signer: PrivateKeyAccount, node: NodeDeclaration) =>
  signSignerBinding(publicClient, {
    registry,
    chainId,
    operator: operator.address,
    peerId: node.peerId,
    account: signer,
  })
const register = async (operator: PrivateKeyAccount, signer: PrivateKeyAccount, name: string, stake: bigint) => {
  const node = declaration(signer.address, name)
  await registerNode(wallet(operator), {
    token,
    registry,
    stake,
    node,
    signerProof: await consent(operator, signer, node),
  })
}
const balanceOf = (account: Address) =>
  readContract(publicClient, { address: token, abi: aiTokenAbi, functionName: 'balanceOf', args: [account] })
const getNode = (operator: Address) =>
  readContract(publicClient, { address: registry, abi: nodeRegistryAbi, functionName: 'getNode', args: [operator] })
const now = async () => (await publicClient.getBlock()).timestamp
const advance = async (seconds: number) => {
  await testClient.increaseTime({ seconds })
  await testClient.mine({ blocks: 1 })
}
const rejectsWith = async (promise: Promise<unknown>, errorName: string) => {
  await expect(promise).rejects.toBeInstanceOf(ContractRevertedError)
  await expect(promise).rejects.toMatchObject({ errorName })
}

beforeAll(async () => {
  const funder = createWalletClient({
    account: mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 7 }),
    transport,
  })
  for (const account of [operatorA, signerA, operatorB, signerB, operatorC, signerC, consumer, requester, prover]) {
    await testClient.setBalance({ address: account.address, value: parseEther('10') })
  }
  for (const [to, amount] of [
    [operatorA.address, 2n * MIN],
    [operatorB.address, MIN],
    [operatorC.address, MIN],
    [consumer.address, parseEther('20')],
    [requester.address, parseEther('10')],
  ] as const) {
    const hash = await writeContract(funder, {
      address: token,
      abi: aiTokenAbi,
      functionName: 'transfer',
      args: [to, amount],
      chain: null,
    })
    await waitForTransactionReceipt(publicClient, { hash })
  }
  await register(operatorA, signerA, 'a', 2n * MIN)
  await register(operatorB, signerB, 'b', MIN)
  await register(operatorC, signerC, 'c', MIN)
})

describe('chain actions (integration)', () => {
  it('updates what a node declared, and refuses for an account without an active node', async () => {
    const { blockNumber } = await updateNode(wallet(operatorA), {
      registry,
      node: { ...declaration(signerA.address, 'a'), pricePerMillionInput: 7n, metadataURI: 'ipfs://actions-a-v2' },
    })
    expect(blockNumber).toBeGreaterThan(0n)
    const node = await getNode(operatorA.address)
    expect(node.pricePerMillionInput).toBe(7n)
    expect(node.metadataURI).toBe('ipfs://actions-a-v2')
    await rejectsWith(
      updateNode(wallet(consumer), { registry, node: declaration(consumer.address, 'x') }),
      'NodeNotActive',
    )
  })

  it('refuses a signer without its consent, one consenting to another operator, and one bound elsewhere', async () => {
    const newSigner = fresh()
    const rotated = declaration(newSigner.address, 'c')
    await rejectsWith(updateNode(wallet(operatorC), { registry, node: rotated }), 'InvalidSignerProof')
    await rejectsWith(
      updateNode(wallet(operatorC), {
        registry,
        node: rotated,
        signerProof: await consent(operatorB, newSigner, rotated),
      }),
      'InvalidSignerProof',
    )
    const taken = declaration(signerA.address, 'c')
    await rejectsWith(
      updateNode(wallet(operatorC), { registry, node: taken, signerProof: await consent(operatorC, signerA, taken) }),
      'SignerTaken',
    )
  })

  it('tops up a channel, starts and finishes a close, refunding the unredeemed rest', async () => {
    const { channelId } = await openChannel(wallet(consumer), {
      token,
      channels,
      node: operatorA.address,
      deposit: parseEther('10'),
    })
    const { deposit } = await topUpChannel(wallet(consumer), { token, channels, channelId, amount: parseEther('5') })
    expect(deposit).toBe(parseEther('15'))
    const channel = await getChannel(publicClient, { channels, channelId })
    expect(channel.deposit).toBe(parseEther('15'))
    expect(channel.unitScale).toBe(1n)
    expect(channel.splitEpoch).toBe(0)

    const signed = await signVoucher(wallet(consumer), {
      channels,
      chainId,
      voucher: { channelId, cumulativeAmount: parseEther('4') },
    })
    await redeemVouchers(wallet(operatorA), { channels, vouchers: [signed] })
    await rejectsWith(startChannelClose(wallet(operatorA), { channels, channelId }), 'NotChannelConsumer')
    const { closesAt } = await startChannelClose(wallet(consumer), { channels, channelId })
    expect(closesAt).toBe((await now()) + DEVNET_PARAMETERS.challengePeriod)
    await rejectsWith(topUpChannel(wallet(consumer), { token, channels, channelId, amount: 1n }), 'ChannelIsClosing')
    await rejectsWith(finishChannelClose(wallet(prover), { channels, channelId }), 'ChallengePeriodActive')

    await advance(Number(DEVNET_PARAMETERS.challengePeriod))
    const before = await balanceOf(consumer.address)
    const { refund, restartedUntil } = await finishChannelClose(wallet(prover), { channels, channelId })
    expect(refund).toBe(parseEther('11'))
    expect(restartedUntil).toBeNull()
    expect(await balanceOf(consumer.address)).toBe(before + parseEther('11'))
    expect((await getChannel(publicClient, { channels, channelId })).status).toBe(3)
    await rejectsWith(finishChannelClose(wallet(prover), { channels, channelId }), 'ChannelNotClosing')
  })

  it('unbonds, deregisters and withdraws stake after the unbonding delay', async () => {
    await rejectsWith(unbondStake(wallet(operatorA), { registry, amount: MIN + 1n }), 'InsufficientStake')
    const unbonded = await unbondStake(wallet(operatorA), { registry, amount: MIN })
    expect(unbonded).toMatchObject({ stake: MIN, unbonding: MIN })
    expect(unbonded.unbondingEnds).toBe((await now()) + DEVNET_PARAMETERS.unbondingDelay)
    const { unbonding } = await deregisterNode(wallet(operatorA), { registry })
    expect(unbonding).toBe(2n * MIN)
    expect((await getNode(operatorA.address)).active).toBe(false)
    await rejectsWith(deregisterNode(wallet(operatorA), { registry }), 'NodeNotActive')
    await rejectsWith(withdrawStake(wallet(operatorA), { registry }), 'UnbondingNotFinished')

    await advance(Number(DEVNET_PARAMETERS.unbondingDelay))
    const before = await balanceOf(operatorA.address)
    const { amount } = await withdrawStake(wallet(operatorA), { registry })
    expect(amount).toBe(2n * MIN)
    expect(await balanceOf(operatorA.address)).toBe(before + 2n * MIN)
    await rejectsWith(withdrawStake(wallet(operatorA), { registry }), 'NothingToWithdraw')
  })

  it('proves equivocation: two signed receipts, different outputs, same deterministic request; the node is slashed', async () => {
    const timestamp = await now()
    const receipt = (output: string): Receipt => ({
      requestHash: keccak256(toHex('actions-equivocation-request')),
      outputHash: keccak256(toHex(output)),
      modelHash: MODEL,
      nodeSigner: signerB.address,
      consumer: consumer.address,
      promptTokens: 10n,
      completionTokens: 5n,
      cost: 1n,
      channelId: 0n,
      cumulativePaid: 1n,
      timestamp,
      deterministic: true,
    })
    const a = await signReceipt(wallet(signerB), { anchor, chainId, receipt: receipt('yes') })
    const b = await signReceipt(wallet(signerB), { anchor, chainId, receipt: receipt('no') })
    await rejectsWith(proveEquivocation(wallet(prover), { anchor, a, b: a }), 'SameOutput')
    // Rotating the signer after equivocating does not escape: the retired signer stays bound to operator B.
    const newSigner = fresh()
    const rotated = declaration(newSigner.address, 'b')
    await updateNode(wallet(operatorB), {
      registry,
      node: rotated,
      signerProof: await consent(operatorB, newSigner, rotated),
    })
    expect(
      await readContract(publicClient, {
        address: registry,
        abi: nodeRegistryAbi,
        functionName: 'activeOperatorOf',
        args: [signerB.address],
      }),
    ).toBe('0x0000000000000000000000000000000000000000')
    expect(
      await readContract(publicClient, {
        address: registry,
        abi: nodeRegistryAbi,
        functionName: 'slashableOperatorOf',
        args: [signerB.address],
      }),
    ).toBe(operatorB.address)
    const before = await balanceOf(prover.address)
    const proven = await proveEquivocation(wallet(prover), { anchor, a, b })
    const reward = (MIN * 500n) / 10_000n
    expect(proven).toMatchObject({ operator: operatorB.address, slashed: MIN, reward })
    expect(await balanceOf(prover.address)).toBe(before + reward)
    const node = await getNode(operatorB.address)
    expect(node.active).toBe(false)
    expect(node.stake + node.unbonding).toBe(0n)
    await rejectsWith(proveEquivocation(wallet(prover), { anchor, a, b }), 'AlreadyProven')
  })
})
