/**
 * What travels with a paid request: the `payment` field of the request frame (a voucher, its signature and the
 * chain and contract it was signed for) and the `receipt` field of the `done` frame (the node's EIP-712 receipt,
 * its hash and signature). Also how a receipt is built from a finished request and how anyone verifies one.
 * Amounts are decimal strings on the wire.
 */
import { hashTypedData, keccak256, recoverTypedDataAddress, stringToBytes, type Address, type Hex } from 'viem'
import type { JsonValue } from './errors/base.ts'
import { InvalidReceiptError, VoucherRejectedError } from './errors/payments.ts'
import { isDeterministic, type FinishReason, type InferenceRequest } from './inference.ts'
import { amount, hex, settleCost, type Quote } from './quote.ts'
import { hashReceipt, receiptTypedData, type Receipt, type TypedDataDomainParameters } from './receipt.ts'
import { canonicalSignature, type SignerCache } from './signature.ts'
import { voucherTypedData, type Voucher } from './voucher.ts'
import { integer, object, only } from './wire/check.ts'
import { parseInferenceRequest } from './wire/infer.ts'

export const PAYMENT_VERSION = 1

/** The request frame's payment: a voucher in the PaymentChannels domain of `chainId`/`channels`. */
export type Payment = {
  v: typeof PAYMENT_VERSION
  chainId: number
  channels: Address
  voucher: Voucher
  signature: Hex
}

export function encodePayment(payment: Omit<Payment, 'v'>): JsonValue {
  return {
    v: PAYMENT_VERSION,
    chainId: payment.chainId,
    channels: payment.channels,
    channelId: payment.voucher.channelId.toString(),
    cumulativeAmount: payment.voucher.cumulativeAmount.toString(),
    signature: payment.signature,
  }
}

export function decodePayment(value: unknown): Payment {
  try {
    const fields = object(value, 'payment')
    only(fields, 'payment', ['v', 'chainId', 'channels', 'channelId', 'cumulativeAmount', 'signature'])
    if (fields['v'] !== PAYMENT_VERSION) throw new Error(`payment.v: expected ${PAYMENT_VERSION}`)
    const signature = fields['signature']
    if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature))
      throw new Error('payment.signature: expected 65 bytes of hex')
    return {
      v: PAYMENT_VERSION,
      chainId: integer(fields['chainId'], 'payment.chainId', 1, Number.MAX_SAFE_INTEGER),
      channels: hex(fields['channels'], 'payment.channels', 40) as Address,
      voucher: {
        channelId: amount(fields['channelId'], 'payment.channelId'),
        cumulativeAmount: amount(fields['cumulativeAmount'], 'payment.cumulativeAmount'),
      },
      // Stored and redeemed in the form the contract accepts: the other form of the same signature (high s, or v of 0
      // or 1) recovers the same signer off-chain but would make the voucher unredeemable.
      signature: canonicalSignature(signature.toLowerCase() as Hex),
    }
  } catch (error) {
    throw new VoucherRejectedError({ reason: 'malformed', details: (error as Error).message })
  }
}

/** Refuses a payment signed for another chain or another PaymentChannels contract than this node's. */
export function checkPaymentDomain(payment: Payment, domain: TypedDataDomainParameters): void {
  if (payment.chainId !== domain.chainId || payment.channels.toLowerCase() !== domain.verifyingContract.toLowerCase()) {
    throw new VoucherRejectedError({
      reason: 'wrong-chain',
      details: `signed for chain ${payment.chainId} at ${payment.channels}; this node takes chain ${domain.chainId} at ${domain.verifyingContract}`,
    })
  }
}

/** Who signed a voucher, in the PaymentChannels domain `domain` (so a voucher for another chain recovers to noise). */
export function recoverVoucherSigner(
  voucher: Voucher,
  signature: Hex,
  domain: TypedDataDomainParameters,
  known?: { signers: SignerCache; expected: Address | undefined },
): Promise<Address> {
  const typed = voucherTypedData(voucher, domain)
  // A node checks each voucher of a channel against the same consumer: its key, once seen, makes the check quick.
  if (known) return known.signers.recover(hashTypedData(typed), signature, known.expected)
  return recoverTypedDataAddress({ ...typed, signature })
}

/**
 * keccak256 of the request as the node parsed it (known fields only, fixed order), so both sides agree on it. It
 * covers everything the output depends on besides the model: the prompt or messages (and FIM suffix) and every
 * sampling field (max_tokens, temperature, top_p, seed, stop, response_format); the model is the receipt's
 * `modelHash`. Two receipts with one request hash and model hash are therefore answers to the same question.
 */
export function requestHash(request: InferenceRequest): Hex {
  return keccak256(stringToBytes(JSON.stringify(parseInferenceRequest(request))))
}

export function outputHash(text: string): Hex {
  return keccak256(stringToBytes(text))
}

export type BuildReceiptParameters = {
  request: InferenceRequest
  text: string
  promptTokens: number
  completionTokens: number
  quote: Quote
  channelId: bigint
  consumer: Address
  /** Settled total of the channel before this request. */
  settledBefore: bigint
  /** Unix seconds. */
  timestamp: number
  /** How the output ended; an aborted (cancelled, reset) output is cut where the consumer chose, so never deterministic. */
  finishReason?: FinishReason
  /** Whether the engine that ran it reproduces output bit for bit (`LoadedModel.deterministic`); default false. */
  engineDeterministic?: boolean
}

/**
 * Whether a receipt may say `deterministic` (and so make its node slashable for a different output): the request
 * asks for it (temperature 0 and a seed), the engine promises it, and the output ran to its own end. A cancelled
 * output stops wherever the consumer's cancel landed, so two of them for one request differ without any fault.
 */
export function receiptIsDeterministic(
  request: InferenceRequest,
  {
    finishReason,
    engineDeterministic,
  }: { finishReason?: FinishReason | undefined; engineDeterministic?: boolean | undefined },
): boolean {
  return (
    isDeterministic(request) && engineDeterministic === true && finishReason !== undefined && finishReason !== 'abort'
  )
}

/** The receipt of a finished request: the quote's prices applied to the tokens generated. */
export function buildReceipt(p: BuildReceiptParameters): Receipt {
  const cost = settleCost(p.quote, p.completionTokens)
  return {
    requestHash: requestHash(p.request),
    outputHash: outputHash(p.text),
    modelHash: p.quote.modelHash,
    nodeSigner: p.quote.signer,
    consumer: p.consumer,
    promptTokens: BigInt(p.promptTokens),
    completionTokens: BigInt(p.completionTokens),
    cost,
    channelId: p.channelId,
    cumulativePaid: p.settledBefore + cost,
    timestamp: BigInt(p.timestamp),
    deterministic: receiptIsDeterministic(p.request, p),
  }
}

/** A receipt with its hash (the Merkle leaf's preimage) and the node signer's signature. */
export type SignedReceipt = { receipt: Receipt; receiptHash: Hex; signature: Hex }

const RECEIPT_FIELDS = [
  'requestHash',
  'outputHash',
  'modelHash',
  'nodeSigner',
  'consumer',
  'promptTokens',
  'completionTokens',
  'cost',
  'channelId',
  'cumulativePaid',
  'timestamp',
  'deterministic',
] as const

export function encodeSignedReceipt({ receipt, receiptHash, signature }: SignedReceipt): JsonValue {
  return {
    receipt: {
      requestHash: receipt.requestHash,
      outputHash: receipt.outputHash,
      modelHash: receipt.modelHash,
      nodeSigner: receipt.nodeSigner,
      consumer: receipt.consumer,
      promptTokens: receipt.promptTokens.toString(),
      completionTokens: receipt.completionTokens.toString(),
      cost: receipt.cost.toString(),
      channelId: receipt.channelId.toString(),
      cumulativePaid: receipt.cumulativePaid.toString(),
      timestamp: receipt.timestamp.toString(),
      deterministic: receipt.deterministic,
    },
    receiptHash,
    signature,
  }
}

export function decodeSignedReceipt(value: unknown): SignedReceipt {
  try {
    const outer = object(value, 'receipt')
    only(outer, 'receipt', ['receipt', 'receiptHash', 'signature'])
    const r = object(outer['receipt'], 'receipt.receipt')
    only(r, 'receipt.receipt', RECEIPT_FIELDS)
    if (typeof r['deterministic'] !== 'boolean') throw new Error('receipt.deterministic: expected a boolean')
    const signature = outer['signature']
    if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature))
      throw new Error('receipt.signature: expected 65 bytes of hex')
    return {
      receipt: {
        requestHash: hex(r['requestHash'], 'receipt.requestHash', 64),
        outputHash: hex(r['outputHash'], 'receipt.outputHash', 64),
        modelHash: hex(r['modelHash'], 'receipt.modelHash', 64),
        nodeSigner: hex(r['nodeSigner'], 'receipt.nodeSigner', 40) as Address,
        consumer: hex(r['consumer'], 'receipt.consumer', 40) as Address,
        promptTokens: amount(r['promptTokens'], 'receipt.promptTokens'),
        completionTokens: amount(r['completionTokens'], 'receipt.completionTokens'),
        cost: amount(r['cost'], 'receipt.cost'),
        channelId: amount(r['channelId'], 'receipt.channelId'),
        cumulativePaid: amount(r['cumulativePaid'], 'receipt.cumulativePaid'),
        timestamp: amount(r['timestamp'], 'receipt.timestamp'),
        deterministic: r['deterministic'],
      },
      receiptHash: hex(outer['receiptHash'], 'receipt.receiptHash', 64),
      signature: signature.toLowerCase() as Hex,
    }
  } catch (error) {
    if (error instanceof InvalidReceiptError) throw error
    throw new InvalidReceiptError({ reason: 'malformed', details: (error as Error).message })
  }
}

export type ExpectedReceipt = {
  /** The node signer the consumer trusts (from the quote, bound on-chain to the operator). */
  signer: Address
  consumer: Address
  request?: InferenceRequest
  text?: string
}

/**
 * Verifies a signed receipt in the ReceiptAnchor domain: its hash, its signer, and (when given) that it is about
 * this consumer, request and output. Throws `InvalidReceiptError`; money is checked by `applyReceipt`.
 */
export async function verifySignedReceipt(
  signed: SignedReceipt,
  domain: TypedDataDomainParameters,
  expected: ExpectedReceipt,
  /** The node signers' keys seen before (a consumer verifies every receipt of a node against the same signer). */
  signers?: SignerCache,
): Promise<void> {
  const { receipt } = signed
  const hash = hashReceipt(receipt, domain)
  if (hash.toLowerCase() !== signed.receiptHash.toLowerCase())
    throw new InvalidReceiptError({ reason: 'signature', details: `receipt hash ${signed.receiptHash} is not ${hash}` })
  let recovered: Address
  try {
    recovered = signers
      ? await signers.recover(hash, signed.signature, expected.signer)
      : await recoverTypedDataAddress({ ...receiptTypedData(receipt, domain), signature: signed.signature })
  } catch (cause) {
    throw new InvalidReceiptError({
      reason: 'signature',
      details: `unrecoverable signature: ${(cause as Error).message}`,
    })
  }
  if (
    recovered.toLowerCase() !== expected.signer.toLowerCase() ||
    receipt.nodeSigner.toLowerCase() !== expected.signer.toLowerCase()
  ) {
    throw new InvalidReceiptError({
      reason: 'signature',
      details: `signed by ${recovered}, expected the node signer ${expected.signer}`,
    })
  }
  if (receipt.consumer.toLowerCase() !== expected.consumer.toLowerCase())
    throw new InvalidReceiptError({ reason: 'fields', details: `receipt for consumer ${receipt.consumer}` })
  if (expected.request && receipt.requestHash !== requestHash(expected.request))
    throw new InvalidReceiptError({ reason: 'fields', details: 'the receipt is for another request' })
  if (expected.text !== undefined && receipt.outputHash !== outputHash(expected.text))
    throw new InvalidReceiptError({ reason: 'fields', details: 'the receipt is for another output' })
}
