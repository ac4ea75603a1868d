/**
 * `npm run bench:gas`: the gas of every user-facing action of the Modelex contracts, measured on a real anvil
 * (started on a free 127.0.0.1 port, stopped by PID) with the contracts deployed by `deployContracts`, and the
 * amortized on-chain gas per paid request when one redeem and one anchor are shared over 1, 16 and 256 requests.
 */
import {
  createWalletClient,
  encodeFunctionData,
  http,
  keccak256,
  maxUint256,
  parseEther,
  publicActions,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { buildReceiptTree, getReceiptProof } from '../../core/merkle.ts'
import { receiptTypedData, type Receipt } from '../../core/receipt.ts'
import { voucherTypedData } from '../../core/voucher.ts'
import { oracleCommitment } from '../../core/commit-reveal.ts'
import { SENTIMENT_MODEL_HASH } from '../../chain/constants.ts'
import {
  aiTokenAbi,
  nodeRegistryAbi,
  oracleRouterAbi,
  paymentChannelsAbi,
  receiptAnchorAbi,
  sentimentConsumerAbi,
} from '../../chain/generated.ts'
import { DEVNET_MNEMONIC, DEVNET_PRIVATE_KEYS, startAnvil } from '../lib/anvil.ts'
import { deployContracts } from '../lib/contracts.ts'
import { signSignerBinding } from '../../chain/actions/signSignerBinding.ts'
import { freePort } from '../lib/ports.ts'

const rows: { group: string; action: string; gas: bigint }[] = []

async function main(): Promise<void> {
  const anvil = await startAnvil({ port: await freePort() })
  try {
    await bench(anvil.rpcUrl, anvil.chainId)
  } finally {
    await anvil.stop()
  }
  print()
}

async function bench(rpcUrl: string, chainId: number): Promise<void> {
  const { contracts } = await deployContracts({ rpcUrl, privateKey: DEVNET_PRIVATE_KEYS[0] })
  const token = contracts.AIToken as Address
  const registry = contracts.NodeRegistry as Address
  const channels = contracts.PaymentChannels as Address
  const anchor = contracts.ReceiptAnchor as Address
  const router = contracts.OracleRouter as Address
  const sentiment = contracts.SentimentConsumer as Address

  const wallet = (index: number) => {
    const account = mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: index })
    return createWalletClient({ account, transport: http(rpcUrl), pollingInterval: 20 }).extend(publicActions)
  }
  type Wallet = ReturnType<typeof wallet>
  const send = async (
    client: Wallet,
    address: Address,
    abi: Abi,
    functionName: string,
    args: readonly unknown[],
  ): Promise<bigint> => {
    const hash = await client.writeContract({ address, abi, functionName, args, chain: null } as never)
    const receipt = await client.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`${functionName} reverted`)
    return receipt.gasUsed
  }
  const measure = async (group: string, action: string, gas: Promise<bigint> | bigint) =>
    rows.push({ group, action, gas: await gas })
  const governor = wallet(0)
  const [node1, node2, node3, consumer, consumer2, prover] = [
    wallet(1),
    wallet(2),
    wallet(3),
    wallet(4),
    wallet(5),
    wallet(6),
  ]
  const signerOf = (i: number) => mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: 20 + i })
  const declaration = (i: number, models: readonly Hex[] = [SENTIMENT_MODEL_HASH]) => ({
    peerId: toHex(`12D3KooWBenchPeer${i}`),
    signer: signerOf(i).address,
    models,
    pricePerMillionInput: parseEther('0.5'),
    pricePerMillionOutput: parseEther('1.5'),
    metadataURI: `ipfs://bench-node-${i}`,
  })
  const stake = parseEther('1000')
  // The signer's consent to serve node i's operator (its first binding: nonce 0).
  const consent = (i: number, operator: Wallet) =>
    signSignerBinding(operator, {
      registry,
      chainId,
      operator: operator.account.address,
      peerId: declaration(i).peerId,
      nonce: 0n,
      account: signerOf(i),
    })

  // ---- AIToken
  const fresh = mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: 40 }).address
  await measure(
    'AIToken',
    'transfer (new holder)',
    send(governor, token, aiTokenAbi, 'transfer', [fresh, parseEther('1')]),
  )
  await measure(
    'AIToken',
    'transfer (existing holder)',
    send(governor, token, aiTokenAbi, 'transfer', [fresh, parseEther('1')]),
  )
  await measure(
    'AIToken',
    'approve',
    send(consumer, token, aiTokenAbi, 'approve', [consumer2.account.address, parseEther('10')]),
  )
  await measure(
    'AIToken',
    'transferFrom',
    send(consumer2, token, aiTokenAbi, 'transferFrom', [consumer.account.address, fresh, parseEther('1')]),
  )
  const deadline = maxUint256
  const permitSignature = await consumer.account.signTypedData({
    domain: { name: 'Modelex AI', version: '1', chainId, verifyingContract: token },
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    message: { owner: consumer.account.address, spender: channels, value: parseEther('100'), nonce: 0n, deadline },
  })
  const r = `0x${permitSignature.slice(2, 66)}` as Hex
  const s = `0x${permitSignature.slice(66, 130)}` as Hex
  const v = Number.parseInt(permitSignature.slice(130, 132), 16)
  await measure(
    'AIToken',
    'permit',
    send(prover, token, aiTokenAbi, 'permit', [
      consumer.account.address,
      channels,
      parseEther('100'),
      deadline,
      v,
      r,
      s,
    ]),
  )

  // ---- NodeRegistry
  await measure('NodeRegistry', 'approve (for register)', send(node1, token, aiTokenAbi, 'approve', [registry, stake]))
  await measure(
    'NodeRegistry',
    'register (after approve)',
    send(node1, registry, nodeRegistryAbi, 'register', [declaration(1), await consent(1, node1), stake]),
  )
  const registerData = encodeFunctionData({
    abi: nodeRegistryAbi,
    functionName: 'register',
    args: [declaration(2), await consent(2, node2), 0n],
  })
  await measure(
    'NodeRegistry',
    'register (transferAndCall, 1 tx)',
    send(node2, token, aiTokenAbi, 'transferAndCall', [registry, stake, registerData]),
  )
  await send(node3, token, aiTokenAbi, 'transferAndCall', [
    registry,
    stake * 2n,
    encodeFunctionData({
      abi: nodeRegistryAbi,
      functionName: 'register',
      args: [declaration(3), await consent(3, node3), 0n],
    }),
  ])
  await measure(
    'NodeRegistry',
    'update (prices, metadata)',
    send(node1, registry, nodeRegistryAbi, 'update', [
      { ...declaration(1), pricePerMillionInput: parseEther('0.4'), metadataURI: 'ipfs://bench-node-1-v2' },
      '0x',
    ]),
  )
  const addStakeData = encodeFunctionData({ abi: nodeRegistryAbi, functionName: 'addStake', args: [0n] })
  await measure(
    'NodeRegistry',
    'addStake (transferAndCall)',
    send(node3, token, aiTokenAbi, 'transferAndCall', [registry, parseEther('10'), addStakeData]),
  )
  await measure('NodeRegistry', 'unbond', send(node3, registry, nodeRegistryAbi, 'unbond', [parseEther('500')]))

  // ---- PaymentChannels
  await measure(
    'PaymentChannels',
    'approve (for open)',
    send(consumer, token, aiTokenAbi, 'approve', [channels, parseEther('1000')]),
  )
  await measure(
    'PaymentChannels',
    'open (after approve)',
    send(consumer, channels, paymentChannelsAbi, 'open', [node1.account.address, parseEther('100')]),
  )
  const channelId = 1n
  const openData = encodeFunctionData({
    abi: paymentChannelsAbi,
    functionName: 'open',
    args: [node1.account.address, 0n],
  })
  await measure(
    'PaymentChannels',
    'open (transferAndCall, 1 tx)',
    send(consumer2, token, aiTokenAbi, 'transferAndCall', [channels, parseEther('100'), openData]),
  )
  await measure(
    'PaymentChannels',
    'topUp (after approve)',
    send(consumer, channels, paymentChannelsAbi, 'topUp', [channelId, parseEther('50')]),
  )
  const signVoucher = (client: Wallet, id: bigint, cumulativeAmount: bigint) =>
    client.account.signTypedData(
      voucherTypedData({ channelId: id, cumulativeAmount }, { chainId, verifyingContract: channels }),
    )
  const redeem = async (id: bigint, amount: bigint, client: Wallet) =>
    send(node1, channels, paymentChannelsAbi, 'redeem', [
      { channelId: id, cumulativeAmount: amount },
      await signVoucher(client, id, amount),
    ])
  await measure('PaymentChannels', 'redeem (first voucher of a channel)', redeem(channelId, parseEther('1'), consumer))
  const redeemSteady = await redeem(channelId, parseEther('2'), consumer)
  await measure('PaymentChannels', 'redeem (later voucher)', redeemSteady)

  // 16 channels of one consumer to one node, redeemed together.
  const batchIds: bigint[] = []
  for (let i = 0; i < 16; i++) {
    await send(consumer, channels, paymentChannelsAbi, 'open', [node1.account.address, parseEther('1')])
    batchIds.push(3n + BigInt(i))
  }
  const vouchers = batchIds.map((id) => ({ channelId: id, cumulativeAmount: parseEther('0.5') }))
  const signatures = await Promise.all(batchIds.map((id) => signVoucher(consumer, id, parseEther('0.5'))))
  const batchGas = await send(node1, channels, paymentChannelsAbi, 'redeemMany', [vouchers, signatures])
  await measure('PaymentChannels', 'redeemMany (16 channels, total)', batchGas)
  await measure('PaymentChannels', 'redeemMany (16 channels, per channel)', batchGas / 16n)

  // ---- ReceiptAnchor
  const signerClient = createWalletClient({
    account: signerOf(1),
    transport: http(rpcUrl),
    pollingInterval: 20,
  }).extend(publicActions)
  await governor.sendTransaction({ to: signerOf(1).address, value: parseEther('1'), chain: null })
  const receiptHashes = Array.from({ length: 256 }, (_, i) => keccak256(toHex(`bench-receipt-${i}`)))
  const tree = buildReceiptTree(receiptHashes)
  const anchorGas = await send(signerClient, anchor, receiptAnchorAbi, 'anchor', [tree.root, 256n])
  await measure('ReceiptAnchor', 'anchor (any batch size)', anchorGas)
  const proof = getReceiptProof(tree, receiptHashes[7] as Hex)
  await measure(
    'ReceiptAnchor',
    'verifyReceipt (view, 256-leaf proof)',
    governor.estimateGas({
      to: anchor,
      data: encodeFunctionData({
        abi: receiptAnchorAbi,
        functionName: 'verifyReceipt',
        args: [node1.account.address, tree.root, receiptHashes[7] as Hex, proof],
      }),
    }),
  )
  const receipt = (outputHash: Hex): Receipt => ({
    requestHash: keccak256(toHex('bench-request')),
    outputHash,
    modelHash: SENTIMENT_MODEL_HASH,
    nodeSigner: signerOf(3).address,
    consumer: consumer.account.address,
    promptTokens: 100n,
    completionTokens: 20n,
    cost: parseEther('0.0001'),
    channelId,
    cumulativePaid: parseEther('0.0001'),
    timestamp: 1_700_000_000n,
    deterministic: true,
  })
  const a = receipt(keccak256(toHex('a')))
  const b = receipt(keccak256(toHex('b')))
  const domain = { chainId, verifyingContract: anchor }
  const [sigA, sigB] = [
    await signerOf(3).signTypedData(receiptTypedData(a, domain)),
    await signerOf(3).signTypedData(receiptTypedData(b, domain)),
  ]
  await measure(
    'ReceiptAnchor',
    'proveEquivocation (slash + reward)',
    send(prover, anchor, receiptAnchorAbi, 'proveEquivocation', [a, sigA, b, sigB]),
  )

  // ---- OracleRouter + SentimentConsumer (nodes 1, 2 and 4 serve the sentiment model; node 3 was slashed above;
  // k = 3, the router's minimum)
  const node4 = wallet(7)
  await send(node4, token, aiTokenAbi, 'transferAndCall', [
    registry,
    stake,
    encodeFunctionData({
      abi: nodeRegistryAbi,
      functionName: 'register',
      args: [declaration(4), await consent(4, node4), 0n],
    }),
  ])
  await measure(
    'OracleRouter',
    'registerTemplate',
    send(governor, router, oracleRouterAbi, 'registerTemplate', [
      'Summarize {text} as a number.',
      SENTIMENT_MODEL_HASH,
    ]),
  )
  await send(consumer, token, aiTokenAbi, 'approve', [sentiment, parseEther('100')])
  const now = (await governor.getBlock()).timestamp
  const oracleNodes = [node1, node2, node4]
  const commitOf = (requestId: bigint, i: number) =>
    oracleCommitment({
      requestId,
      operator: oracleNodes[i]!.account.address,
      value: BigInt(i) * 10n ** 17n,
      salt: keccak256(toHex(`bench-salt-${requestId}-${i}`)),
    })
  const revealArgs = (requestId: bigint, i: number) => [
    requestId,
    BigInt(i) * 10n ** 17n,
    keccak256(toHex(`bench-salt-${requestId}-${i}`)),
  ]
  const scoreRequest = await send(consumer, sentiment, sentimentConsumerAbi, 'requestScore', [
    'ETH',
    parseEther('3'),
    3,
    now + 600n,
    now + 1200n,
  ])
  await measure('OracleRouter', 'requestScore via SentimentConsumer (k=3)', scoreRequest)
  const commits = [
    await send(node1, router, oracleRouterAbi, 'commit', [1n, commitOf(1n, 0)]),
    await send(node2, router, oracleRouterAbi, 'commit', [1n, commitOf(1n, 1)]),
    await send(node4, router, oracleRouterAbi, 'commit', [1n, commitOf(1n, 2)]),
  ]
  await measure('OracleRouter', 'commit (not last)', commits[0]!)
  await measure('OracleRouter', 'commit (k-th: opens reveals)', commits[2]!)
  const reveals = [
    await send(node1, router, oracleRouterAbi, 'reveal', revealArgs(1n, 0)),
    await send(node2, router, oracleRouterAbi, 'reveal', revealArgs(1n, 1)),
    await send(node4, router, oracleRouterAbi, 'reveal', revealArgs(1n, 2)),
  ]
  await measure('OracleRouter', 'reveal (not last: pays fee / k)', reveals[0]!)
  await measure('OracleRouter', 'reveal (k-th: median, callback)', reveals[2]!)
  const answersGas = [...commits, ...reveals].reduce((a, b) => a + b, 0n)
  await measure('Oracle per answer and per round (k=3)', 'commit + reveal, per answer (mean)', answersGas / 3n)
  await measure(
    'Oracle per answer and per round (k=3)',
    'request + 3 commits + 3 reveals, per request',
    scoreRequest + answersGas,
  )
  await send(consumer, sentiment, sentimentConsumerAbi, 'requestScore', [
    'BTC',
    parseEther('3'),
    3,
    now + 600n,
    now + 1200n,
  ])
  const schedule = {
    datasetHash: keccak256(toHex('bench-headlines')),
    windowSeconds: 90 * 86_400,
    start: now + 10n,
    period: 86_400,
    rounds: 2,
    k: 3,
    commitWindow: 600,
    revealWindow: 600,
    feePerRound: parseEther('3'),
  }
  await measure(
    'OracleRouter',
    'subscribeScore via SentimentConsumer (2 rounds)',
    send(consumer, sentiment, sentimentConsumerAbi, 'subscribeScore', ['ETH', schedule]),
  )
  await governor.request({ method: 'evm_increaseTime', params: [toHex(20)] } as never)
  await governor.request({ method: 'evm_mine', params: [] } as never)
  const openGas = await send(prover, router, oracleRouterAbi, 'openRound', [1n, 0])
  await measure('OracleRouter', 'openRound (creates the round request)', openGas)
  const roundCommits: bigint[] = []
  for (let i = 0; i < 3; i++)
    roundCommits.push(await send(oracleNodes[i]!, router, oracleRouterAbi, 'commit', [3n, commitOf(3n, i)]))
  for (let i = 0; i < 3; i++)
    roundCommits.push(await send(oracleNodes[i]!, router, oracleRouterAbi, 'reveal', revealArgs(3n, i)))
  await measure(
    'Oracle per answer and per round (k=3)',
    'openRound + 3 commits + 3 reveals, per round',
    openGas + roundCommits.reduce((a, b) => a + b, 0n),
  )

  // ---- Closing paths (need time to pass)
  await measure(
    'PaymentChannels',
    'startClose',
    send(consumer, channels, paymentChannelsAbi, 'startClose', [channelId]),
  )
  await measure('NodeRegistry', 'deregister', send(node2, registry, nodeRegistryAbi, 'deregister', []))
  await governor.request({ method: 'evm_increaseTime', params: [toHex(7 * 24 * 3600)] } as never)
  await governor.request({ method: 'evm_mine', params: [] } as never)
  await measure(
    'PaymentChannels',
    'finishClose (refund)',
    send(consumer, channels, paymentChannelsAbi, 'finishClose', [channelId]),
  )
  await measure('NodeRegistry', 'withdraw', send(node2, registry, nodeRegistryAbi, 'withdraw', []))
  await measure(
    'OracleRouter',
    'finalize (no answers: expires)',
    send(prover, router, oracleRouterAbi, 'finalize', [2n]),
  )
  await measure(
    'OracleRouter',
    'claimRefund via SentimentConsumer (funder only)',
    send(consumer, sentiment, sentimentConsumerAbi, 'claimRefund', [2n]),
  )
  await measure(
    'OracleRouter',
    'cancelScoreSubscription via SentimentConsumer',
    send(consumer, sentiment, sentimentConsumerAbi, 'cancelScoreSubscription', [1n]),
  )
  await measure('AIToken', 'startSplit (governor)', send(governor, token, aiTokenAbi, 'startSplit', [2n]))

  // ---- After the split took effect: custodial books rescale on the way out (channel 2 was opened before it).
  const preSplitVoucher = await signVoucher(consumer2, 2n, parseEther('1'))
  await governor.request({ method: 'anvil_mine', params: [toHex(10)] } as never)
  await measure(
    'AIToken',
    'transfer (first after a split: settles it)',
    send(governor, token, aiTokenAbi, 'transfer', [fresh, parseEther('1')]),
  )
  await measure(
    'PaymentChannels',
    'redeem (voucher signed before a split)',
    send(node1, channels, paymentChannelsAbi, 'redeem', [
      { channelId: 2n, cumulativeAmount: parseEther('1') },
      preSplitVoucher,
    ]),
  )
  await measure(
    'NodeRegistry',
    'addStake (transferAndCall, first after a split: rescales the node)',
    send(node1, token, aiTokenAbi, 'transferAndCall', [registry, parseEther('10'), addStakeData]),
  )

  // ---- Amortized per paid request: one steady-state redeem and one anchor shared over N requests.
  for (const n of [1n, 16n, 256n]) {
    rows.push({
      group: 'Per paid request',
      action: `(redeem + anchor) / ${n} requests`,
      gas: (redeemSteady + anchorGas) / n,
    })
  }
  for (const n of [16n, 256n]) {
    rows.push({
      group: 'Per paid request',
      action: `(redeemMany share + anchor) / ${n} requests, 16 channels batched`,
      gas: (batchGas / 16n + anchorGas) / n,
    })
  }
}

function print(): void {
  const width = Math.max(...rows.map((r) => r.action.length)) + 2
  console.log('Gas of Modelex actions, measured on anvil (solc 0.8.30, optimizer 200 runs); views as estimateGas')
  for (const group of new Set(rows.map((r) => r.group))) {
    console.log(`\n${group}`)
    for (const row of rows.filter((r) => r.group === group))
      console.log(`  ${row.action.padEnd(width)}${row.gas.toLocaleString('en-US').padStart(12)}`)
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
