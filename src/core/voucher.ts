/**
 * The voucher a consumer signs to pay a node through a payment channel: EIP-712 typed data in PaymentChannels'
 * domain ("Modelex", "1", chain id, PaymentChannels). Amounts are cumulative, so only the latest voucher matters;
 * `contracts/src/types/Voucher.sol` is the other half.
 */
import { hashTypedData, type Hex } from 'viem'
import {
  checkRange,
  MODELEX_DOMAIN_NAME,
  MODELEX_DOMAIN_VERSION,
  type ModelexDomain,
  type TypedDataDomainParameters,
} from './receipt.ts'

export type Voucher = {
  channelId: bigint
  /**
   * Everything the node may have taken from the channel so far, in channel units: AI wei of the token's split
   * epoch when the channel was opened (plain AI wei until the token splits). Redeeming pays
   * `units × unitScale` AI, so a voucher keeps its value across a split.
   */
  cumulativeAmount: bigint
}

export const VOUCHER_TYPES = {
  Voucher: [
    { name: 'channelId', type: 'uint256' },
    { name: 'cumulativeAmount', type: 'uint256' },
  ],
} as const

/** The EIP-712 domain of vouchers: `verifyingContract` is PaymentChannels. */
export function voucherDomain({ chainId, verifyingContract }: TypedDataDomainParameters): ModelexDomain {
  return { name: MODELEX_DOMAIN_NAME, version: MODELEX_DOMAIN_VERSION, chainId, verifyingContract }
}

/** Everything `signTypedData` needs to sign `voucher`. */
export function voucherTypedData(voucher: Voucher, domain: TypedDataDomainParameters) {
  checkRange('voucher.channelId', voucher.channelId, 2n ** 256n - 1n)
  checkRange('voucher.cumulativeAmount', voucher.cumulativeAmount, 2n ** 256n - 1n)
  return { domain: voucherDomain(domain), types: VOUCHER_TYPES, primaryType: 'Voucher', message: voucher } as const
}

/** The digest a consumer signs, equal to `PaymentChannels.voucherDigest(voucher)`. */
export function hashVoucher(voucher: Voucher, domain: TypedDataDomainParameters): Hex {
  return hashTypedData(voucherTypedData(voucher, domain))
}

/** What redeeming `voucher` pays now, given what the channel already redeemed (0 when stale, as the contract refuses). */
export function voucherIncrease(voucher: Voucher, redeemed: bigint): bigint {
  return voucher.cumulativeAmount > redeemed ? voucher.cumulativeAmount - redeemed : 0n
}
