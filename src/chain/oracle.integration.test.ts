/**
 * The oracle actions end to end against anvil, with the contracts deployed by `deployContracts`: a k = 3
 * commit-reveal round (refused early reveals, second commits and mismatched reveals; the median delivered; each
 * revealer paid), an expired request refunded to its requester only, and a SentimentConsumer subscription running
 * two rounds on a shortened schedule, the second missed and refunded into the subscription, cancelled by its funder.
 * Fresh accounts (funded from anvil account 8) and a model of its own keep it independent of the other integration
 * files sharing the chain.
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
import { getContractEvents, readContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { generateSalt, nextOracleAction, oraclePhase } from '../core/commit-reveal.ts'
import type { ContractName } from '../core/deployment.ts'
import { ContractRevertedError } from '../core/errors/chain.ts'
import { decodeRoundInput } from '../core/oracle-round.ts'
import { deployedContract } from '../server/testing/contracts.ts'
import {
  cancelScoreSubscription,
  claimOracleRefund,
  commitOracleAnswer,
  finalizeOracle,
  getOracleRequest,
  getRounds,
  getScore,
  getSubscription,
  openRound,
  registerNode,
  requestOracle,
  revealOracleAnswer,
  signSignerBinding,
  subscribeScore,
  type NodeDeclaration,
} from './actions/index.ts'
import { DEVNET_PARAMETERS, SENTIMENT_MODEL_HASH } from './constants.ts'
import { aiTokenAbi, oracleRouterAbi } from './generated.ts'

const deployment = inject('deployment')
const contract = (name: ContractName): Address => deployedContract(deployment, name)
const token = contract('AIToken')
const registry = contract('NodeRegistry')
const router = contract('OracleRouter')
const sentiment = contract('SentimentConsumer')
const chainId = deployment.chainId
const transport = http(deployment.rpcUrl)
const pollingInterval = 50
const publicClient = createPublicClient({ transport, pollingInterval })
const testClient = createTestClient({ mode: 'anvil', transport })

const fresh = () => privateKeyToAccount(generatePrivateKey())
const wallet = (account: PrivateKeyAccount) => createWalletClient({ account, transport, pollingInterval })
const operators = [fresh(), fresh(), fresh()] as const
const signers = [fresh(), fresh(), fresh()] as const
const [requester, funder, stranger, keeper] = [fresh(), fresh(), fresh(), fresh()]

const MODEL = keccak256(toHex(`modelex:oracle-integration-model-${Date.now()}`))
const TEMPLATE = `Oracle integration ${Date.now()}: rate {x} from -1 to 1.`
const FEE = parseEther('3')

const balanceOf = (account: Address) =>
  readContract(publicClient, { address: token, abi: aiTokenAbi, functionName: 'balanceOf', args: [account] })
const now = async () => (await publicClient.getBlock()).timestamp
const advanceTo = async (timestamp: bigint) => {
  const current = await now()
  if (timestamp > current) await testClient.increaseTime({ seconds: Number(timestamp - current) })
  await testClient.mine({ blocks: 1 })
}
const rejectsWith = async (promise: Promise<unknown>, errorName: string) => {
  await expect(promise).rejects.toBeInstanceOf(ContractRevertedError)
  await expect(promise).rejects.toMatchObject({ errorName })
}

/** What a node keeps between its commit and its reveal. */
type Sealed = { value: bigint; salt: `0x${string}` }
const commitAll = async (requestId: bigint, values: readonly bigint[]): Promise<Sealed[]> => {
  const sealed: Sealed[] = []
  for (const [i, value] of values.entries()) {
    const salt = generateSalt()
    // Node 0 answers through its signer: the commitment still names the operator.
    const sender = i === 0 ? signers[0] : operators[i]!
    await commitOracleAnswer(wallet(sender), { router, requestId, operator: operators[i]!.address, value, salt })
    sealed.push({ value, salt })
  }
  return sealed
}

beforeAll(async () => {
  const funderOfAll = createWalletClient({
    account: mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 8 }),
    transport,
  })
  for (const account of [...operators, ...signers, requester, funder, stranger, keeper]) {
    await testClient.setBalance({ address: account.address, value: parseEther('10') })
  }
  const send = async (to: Address, amount: bigint) =>
    waitForTransactionReceipt(publicClient, {
      hash: await writeContract(funderOfAll, {
        address: token,
        abi: aiTokenAbi,
        functionName: 'transfer',
        args: [to, amount],
        chain: null,
      }),
    })
  for (const operator of operators) await send(operator.address, DEVNET_PARAMETERS.minStake)
  await send(requester.address, parseEther('20'))
  await send(funder.address, parseEther('20'))
  for (const [i, operator] of operators.entries()) {
    const signer = signers[i]!
    const node: NodeDeclaration = {
      peerId: toHex(`peer-oracle-${i}-${signer.address}`),
      signer: signer.address,
      models: [MODEL, SENTIMENT_MODEL_HASH],
      pricePerMillionInput: 10n ** 15n,
      pricePerMillionOutput: 2n * 10n ** 15n,
      metadataURI: `ipfs://oracle-${i}`,
    }
    const signerProof = await signSignerBinding(publicClient, {
      registry,
      chainId,
      operator: operator.address,
      peerId: node.peerId,
      account: signer,
    })
    await registerNode(wallet(operator), { token, registry, stake: DEVNET_PARAMETERS.minStake, node, signerProof })
  }
  const hash = await writeContract(wallet(requester), {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'registerTemplate',
    args: [TEMPLATE, MODEL],
    chain: null,
  })
  await waitForTransactionReceipt(publicClient, { hash })
})

describe('oracle actions (integration)', () => {
  const templateHash = keccak256(toHex(TEMPLATE))

  it('runs a k = 3 commit-reveal round with one silent node: revealers paid fee / 3, nobody answers twice, the rest refunded to the requester only', async () => {
    const t = await now()
    await rejectsWith(
      requestOracle(wallet(requester), {
        token,
        router,
        templateHash,
        input: toHex('x=ETH'),
        fee: FEE,
        k: 1,
        commitDeadline: t + 600n,
        revealDeadline: t + 1200n,
      }),
      'InvalidAnswerCount',
    )
    const { requestId } = await requestOracle(wallet(requester), {
      token,
      router,
      templateHash,
      input: toHex('x=ETH'),
      fee: FEE,
      k: 3,
      commitDeadline: t + 600n,
      revealDeadline: t + 1200n,
    })

    const asked = await getOracleRequest(publicClient, { router, requestId, operator: operators[0].address })
    expect(asked).toMatchObject({
      status: 'open',
      phase: 'commit',
      k: 3,
      quorum: 3,
      fee: FEE,
      node: { committed: false, revealed: false },
    })
    expect(nextOracleAction(asked, asked.node!, await now())).toBe('commit')

    const sealed = await commitAll(requestId, [4n * 10n ** 17n, -2n * 10n ** 17n])
    await rejectsWith(revealOracleAnswer(wallet(operators[0]), { router, requestId, ...sealed[0]! }), 'RevealNotOpen')
    await rejectsWith(
      commitOracleAnswer(wallet(operators[0]), {
        router,
        requestId,
        operator: operators[0].address,
        value: 1n,
        salt: generateSalt(),
      }),
      'AlreadyCommitted',
    )
    const third = await commitOracleAnswer(wallet(operators[2]), {
      router,
      requestId,
      operator: operators[2].address,
      value: 9n * 10n ** 17n,
      salt: generateSalt(),
    })
    expect(third.commits).toBe(3)
    // The commitment the node computed is the one the router stored.
    const [stored] = await readContract(publicClient, {
      address: router,
      abi: oracleRouterAbi,
      functionName: 'commitmentOf',
      args: [requestId, operators[2].address],
    })
    expect(stored).toBe(third.commitment)

    const revealing = await getOracleRequest(publicClient, { router, requestId, operator: operators[1].address })
    expect(revealing.phase).toBe('reveal')
    expect(oraclePhase(revealing, await now())).toBe('reveal')
    await rejectsWith(
      revealOracleAnswer(wallet(operators[1]), {
        router,
        requestId,
        value: sealed[1]!.value + 1n,
        salt: sealed[1]!.salt,
      }),
      'CommitmentMismatch',
    )
    await rejectsWith(revealOracleAnswer(wallet(stranger), { router, requestId, ...sealed[1]! }), 'NotRegisteredNode')

    const before = await Promise.all(operators.map((o) => balanceOf(o.address)))
    const first = await revealOracleAnswer(wallet(signers[0]), { router, requestId, ...sealed[0]! })
    expect(first).toMatchObject({ paid: FEE / 3n, settlement: null })
    await rejectsWith(revealOracleAnswer(wallet(operators[0]), { router, requestId, ...sealed[0]! }), 'AlreadyRevealed')
    await revealOracleAnswer(wallet(operators[1]), { router, requestId, ...sealed[1]! })
    // Node 2 committed but goes silent: the request waits for the reveal deadline, then anyone finalizes it.
    await rejectsWith(finalizeOracle(wallet(keeper), { router, requestId }), 'NotFinalizable')
    await advanceTo(revealing.revealDeadline + 1n)
    const { settlement } = await finalizeOracle(wallet(keeper), { router, requestId })
    // Two reveals are below the quorum of 3: expired, and the unrevealed share goes back to the requester.
    expect(settlement).toEqual({ status: 'expired', reveals: 2 })
    const after = await Promise.all(operators.map((o) => balanceOf(o.address)))
    expect(after[0]! - before[0]!).toBe(FEE / 3n)
    expect(after[1]! - before[1]!).toBe(FEE / 3n)
    expect(after[2]! - before[2]!).toBe(0n)
    await rejectsWith(claimOracleRefund(wallet(stranger), { router, requestId }), 'NotRequester')
    const { amount } = await claimOracleRefund(wallet(requester), { router, requestId })
    expect(amount).toBe(FEE - 2n * (FEE / 3n))
    await rejectsWith(claimOracleRefund(wallet(requester), { router, requestId }), 'NothingToRefund')
  })

  it('delivers the median of three revealed answers', async () => {
    const t = await now()
    const { requestId } = await requestOracle(wallet(requester), {
      token,
      router,
      templateHash,
      input: toHex('x=BTC'),
      fee: FEE,
      k: 3,
      commitDeadline: t + 600n,
      revealDeadline: t + 1200n,
    })
    const values = [5n * 10n ** 17n, -2n * 10n ** 17n, 9n * 10n ** 17n]
    const sealed = await commitAll(requestId, values)
    const results = []
    for (const [i, s] of sealed.entries())
      results.push(await revealOracleAnswer(wallet(operators[i]!), { router, requestId, ...s }))
    expect(results[2]!.settlement).toEqual({
      status: 'fulfilled',
      median: 5n * 10n ** 17n,
      reveals: 3,
      callbackSucceeded: true,
    })
    expect(results[2]!.paid).toBe(FEE - 2n * (FEE / 3n))
    const settled = await getOracleRequest(publicClient, { router, requestId })
    expect(settled).toMatchObject({
      status: 'fulfilled',
      phase: 'settled',
      result: 5n * 10n ** 17n,
      reveals: 3,
      refund: 0n,
    })
    const [, answers] = await readContract(publicClient, {
      address: router,
      abi: oracleRouterAbi,
      functionName: 'getAnswers',
      args: [requestId],
    })
    expect([...answers].sort((a, b) => (a < b ? -1 : 1))[1]).toBe(settled.result)
  })

  it('runs a two-round SentimentConsumer subscription: round 0 scores the asset, round 1 is missed and refunded', async () => {
    const period = 3_600
    const start = (await now()) + 60n
    const schedule = {
      datasetHash: keccak256(toHex('labelled-headlines')),
      windowSeconds: 90 * 86_400,
      start,
      period,
      rounds: 2,
      k: 3,
      commitWindow: 300,
      revealWindow: 300,
      feePerRound: FEE,
    }
    const asset = `ORCL-${Date.now()}`
    const { subscriptionId } = await subscribeScore(wallet(funder), { token, consumer: sentiment, asset, schedule })
    expect(await balanceOf(sentiment)).toBe(0n)
    await rejectsWith(openRound(wallet(keeper), { router, subscriptionId, round: 0 }), 'RoundNotDue')

    await advanceTo(start)
    const round0 = await openRound(wallet(keeper), { router, subscriptionId, round: 0 })
    expect(round0.windowEnd).toBe(start)
    expect(round0.windowStart).toBe(start - 90n * 86_400n)
    await rejectsWith(openRound(wallet(keeper), { router, subscriptionId, round: 0 }), 'RoundAlreadyOpened')
    // The round's input, as a node reads it from OracleRequested.
    const [requested] = await getContractEvents(publicClient, {
      address: router,
      abi: oracleRouterAbi,
      eventName: 'OracleRequested',
      args: { requestId: round0.requestId },
      fromBlock: deployment.startBlock === 0 ? 0n : BigInt(deployment.startBlock),
    })
    expect(decodeRoundInput(requested!.args.input!)).toEqual({
      subscriptionId,
      round: 0,
      datasetHash: schedule.datasetHash,
      windowStart: round0.windowStart,
      windowEnd: start,
      params: toHex(asset),
    })

    const sealed = await commitAll(round0.requestId, [1n * 10n ** 17n, 3n * 10n ** 17n, 2n * 10n ** 17n])
    for (const [i, s] of sealed.entries())
      await revealOracleAnswer(wallet(operators[i]!), { router, requestId: round0.requestId, ...s })
    expect(await getScore(publicClient, { consumer: sentiment, asset })).toMatchObject({
      value: 2n * 10n ** 17n,
      requestId: round0.requestId,
    })

    await advanceTo(start + BigInt(period))
    const round1 = await openRound(wallet(operators[1]), { router, subscriptionId, round: 1 })
    const [only] = await commitAll(round1.requestId, [7n * 10n ** 17n])
    const request1 = await getOracleRequest(publicClient, { router, requestId: round1.requestId })
    await advanceTo(request1.commitDeadline + 1n)
    const { settlement } = await revealOracleAnswer(wallet(signers[0]), {
      router,
      requestId: round1.requestId,
      ...only!,
    })
    expect(settlement).toEqual({ status: 'expired', reveals: 1 })

    const rounds = await getRounds(publicClient, { router, subscriptionId })
    expect(rounds.map((r) => r.status)).toEqual(['fulfilled', 'missed'])
    expect(rounds[0]!.result).toBe(2n * 10n ** 17n)
    const refunded = FEE - FEE / 3n
    expect((await getSubscription(publicClient, { router, subscriptionId })).balance).toBe(refunded)
    expect((await getScore(publicClient, { consumer: sentiment, asset }))?.requestId).toBe(round0.requestId)

    await rejectsWith(cancelScoreSubscription(wallet(stranger), { consumer: sentiment, subscriptionId }), 'NotFunder')
    const before = await balanceOf(funder.address)
    const { amount } = await cancelScoreSubscription(wallet(funder), { consumer: sentiment, subscriptionId })
    expect(amount).toBe(refunded)
    expect(await balanceOf(funder.address)).toBe(before + refunded)
    expect((await getSubscription(publicClient, { router, subscriptionId })).cancelled).toBe(true)
  })
})
