/**
 * The paid-request path end to end against anvil, with the contracts deployed by `deployContracts`: register a
 * node, open a channel, redeem a voucher signed here, anchor a Merkle root built here, prove a receipt's inclusion
 * on-chain. Every hash computed off-chain is checked against the contract's own.
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
  type Hex,
} from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { readContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { ContractRevertedError } from '../core/errors/chain.ts'
import { getReceiptProof, receiptLeaf } from '../core/merkle.ts'
import { hashReceipt, type Receipt } from '../core/receipt.ts'
import { hashVoucher } from '../core/voucher.ts'
import { getAnchor } from './actions/getAnchor.ts'
import {
  anchorReceipts,
  getChannel,
  listActiveNodes,
  openChannel,
  redeemVouchers,
  registerNode,
  signReceipt,
  signSignerBinding,
  signVoucher,
  verifyReceipt,
} from './actions/index.ts'
import { DEVNET_PARAMETERS } from './constants.ts'
import { aiTokenAbi, paymentChannelsAbi, receiptAnchorAbi } from './generated.ts'
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
// Anvil mines on every transaction; poll for receipts often instead of viem's 4 s default.
const pollingInterval = 50
const publicClient = createPublicClient({ transport, pollingInterval })

// Fresh accounts, so the test does not depend on what else ran on this chain.
const operator = privateKeyToAccount(generatePrivateKey())
const nodeSigner = privateKeyToAccount(generatePrivateKey())
const consumer = privateKeyToAccount(generatePrivateKey())
const operatorClient = createWalletClient({ account: operator, transport, pollingInterval })
const signerClient = createWalletClient({ account: nodeSigner, transport, pollingInterval })
const consumerClient = createWalletClient({ account: consumer, transport, pollingInterval })

const MODEL = keccak256(toHex('modelex:integration-model'))
const DEPOSIT = parseEther('50')

beforeAll(async () => {
  const testClient = createTestClient({ mode: 'anvil', transport })
  const funder = createWalletClient({
    account: mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 9 }),
    transport,
  })
  for (const account of [operator, nodeSigner, consumer]) {
    await testClient.setBalance({ address: account.address, value: parseEther('10') })
  }
  for (const [to, amount] of [
    [operator.address, DEVNET_PARAMETERS.minStake],
    [consumer.address, DEPOSIT],
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
})

describe('contracts (integration)', () => {
  let channelId = 0n

  it('registers a node with stake in one transaction', async () => {
    const peerId = toHex(`peer-${operator.address}`)
    await registerNode(operatorClient, {
      token,
      registry,
      stake: DEVNET_PARAMETERS.minStake,
      signerProof: await signSignerBinding(signerClient, { registry, chainId, operator: operator.address, peerId }),
      node: {
        peerId,
        signer: nodeSigner.address,
        models: [MODEL],
        pricePerMillionInput: 10n ** 15n,
        pricePerMillionOutput: 2n * 10n ** 15n,
        metadataURI: 'ipfs://integration',
      },
    })
    const { nodes } = await listActiveNodes(publicClient, { registry, limit: 1000n })
    const node = nodes.find((n) => n.operator === operator.address)
    expect(node?.signer).toBe(nodeSigner.address)
    expect(node?.stake).toBe(DEVNET_PARAMETERS.minStake)
  })

  it('opens a channel and redeems a voucher signed off-chain', async () => {
    ;({ channelId } = await openChannel(consumerClient, { token, channels, node: operator.address, deposit: DEPOSIT }))
    const voucher = { channelId, cumulativeAmount: parseEther('1.5') }
    expect(
      await readContract(publicClient, {
        address: channels,
        abi: paymentChannelsAbi,
        functionName: 'voucherDigest',
        args: [voucher],
      }),
    ).toBe(hashVoucher(voucher, { chainId, verifyingContract: channels }))
    const signed = await signVoucher(consumerClient, { channels, chainId, voucher })
    const { paid } = await redeemVouchers(operatorClient, { channels, vouchers: [signed] })
    expect(paid).toBe(parseEther('1.5'))
    expect(
      await readContract(publicClient, {
        address: token,
        abi: aiTokenAbi,
        functionName: 'balanceOf',
        args: [operator.address],
      }),
    ).toBe(parseEther('1.5'))
    const channel = await getChannel(publicClient, { channels, channelId })
    expect(channel.redeemed).toBe(parseEther('1.5'))

    // The same voucher again pays nothing: the contract says why, by name.
    const replay = redeemVouchers(operatorClient, { channels, vouchers: [signed] })
    await expect(replay).rejects.toBeInstanceOf(ContractRevertedError)
    await expect(replay).rejects.toMatchObject({ errorName: 'StaleVoucher' })
  })

  it('anchors a root built off-chain and proves a receipt on-chain', async () => {
    const receipts: Receipt[] = Array.from({ length: 5 }, (_, i) => ({
      requestHash: keccak256(toHex(`request-${i}`)),
      outputHash: keccak256(toHex(`output-${i}`)),
      modelHash: MODEL,
      nodeSigner: nodeSigner.address,
      consumer: consumer.address,
      promptTokens: BigInt(100 + i),
      completionTokens: BigInt(20 + i),
      cost: parseEther('0.3'),
      channelId,
      cumulativePaid: parseEther('0.3') * BigInt(i + 1),
      timestamp: 1_700_000_000n + BigInt(i),
      deterministic: i % 2 === 0,
    }))
    const signed = await Promise.all(receipts.map((receipt) => signReceipt(signerClient, { anchor, chainId, receipt })))
    for (const { receipt, receiptHash } of signed) {
      expect(
        await readContract(publicClient, {
          address: anchor,
          abi: receiptAnchorAbi,
          functionName: 'hashReceipt',
          args: [receipt],
        }),
      ).toBe(receiptHash)
      expect(receiptHash).toBe(hashReceipt(receipt, { chainId, verifyingContract: anchor }))
    }
    const hashes = signed.map((s) => s.receiptHash)
    const first = hashes[0] as Hex
    expect(
      await readContract(publicClient, {
        address: anchor,
        abi: receiptAnchorAbi,
        functionName: 'receiptLeaf',
        args: [first],
      }),
    ).toBe(receiptLeaf(first))

    const { root, tree, operator: anchoredFor } = await anchorReceipts(signerClient, { anchor, receiptHashes: hashes })
    expect(anchoredFor).toBe(operator.address)
    for (const receiptHash of hashes) {
      expect(
        await verifyReceipt(publicClient, {
          anchor,
          operator: operator.address,
          root,
          receiptHash,
          proof: getReceiptProof(tree, receiptHash),
        }),
      ).toBe(true)
    }
    const outsider = keccak256(toHex('not anchored'))
    expect(
      await verifyReceipt(publicClient, {
        anchor,
        operator: operator.address,
        root,
        receiptHash: outsider,
        proof: getReceiptProof(tree, first),
      }),
    ).toBe(false)
    // Anchors are per operator: the same root says nothing for another node.
    expect(
      await verifyReceipt(publicClient, {
        anchor,
        operator: consumer.address,
        root,
        receiptHash: first,
        proof: getReceiptProof(tree, first),
      }),
    ).toBe(false)
    expect(await getAnchor(publicClient, { anchor, operator: consumer.address, root })).toMatchObject({
      anchored: false,
    })
    expect(await getAnchor(publicClient, { anchor, operator: operator.address, root })).toMatchObject({
      anchored: true,
      operator: operator.address,
      count: 5n,
    })
    const stored = await readContract(publicClient, {
      address: anchor,
      abi: receiptAnchorAbi,
      functionName: 'getAnchor',
      args: [operator.address, root],
    })
    expect(stored.operator).toBe(operator.address)
    expect(stored.count).toBe(5n)
  })
})
