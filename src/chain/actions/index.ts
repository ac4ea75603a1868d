/** The chain capabilities of Modelex, one small viem-style function each. */
export {
  anchorAttestations,
  type AnchorAttestationsParameters,
  type AnchorAttestationsReturnType,
} from './anchorAttestations.ts'
export { anchorReceipts, type AnchorReceiptsParameters, type AnchorReceiptsReturnType } from './anchorReceipts.ts'
export { deregisterNode, type DeregisterNodeParameters, type DeregisterNodeReturnType } from './deregisterNode.ts'
export {
  finishChannelClose,
  type FinishChannelCloseParameters,
  type FinishChannelCloseReturnType,
} from './finishChannelClose.ts'
export { getChannel, type GetChannelParameters, type GetChannelReturnType } from './getChannel.ts'
export { listActiveNodes, type ListActiveNodesParameters, type ListActiveNodesReturnType } from './listActiveNodes.ts'
export { openChannel, type OpenChannelParameters, type OpenChannelReturnType } from './openChannel.ts'
export {
  getEquivocationProof,
  proveEquivocation,
  type GetEquivocationProofParameters,
  type GetEquivocationProofReturnType,
  type ProveEquivocationParameters,
  type ProveEquivocationReturnType,
  type SignedReceipt,
} from './proveEquivocation.ts'
export { redeemVouchers, type RedeemVouchersParameters, type RedeemVouchersReturnType } from './redeemVouchers.ts'
export {
  registerNode,
  type NodeDeclaration,
  type RegisterNodeParameters,
  type RegisterNodeReturnType,
} from './registerNode.ts'
export {
  signSignerBinding,
  SIGNER_BINDING_TYPES,
  type SignSignerBindingParameters,
  type SignSignerBindingReturnType,
} from './signSignerBinding.ts'
export { signReceipt, type SignReceiptParameters, type SignReceiptReturnType } from './signReceipt.ts'
export { signVoucher, type SignVoucherParameters, type SignVoucherReturnType } from './signVoucher.ts'
export {
  startChannelClose,
  type StartChannelCloseParameters,
  type StartChannelCloseReturnType,
} from './startChannelClose.ts'
export { topUpChannel, type TopUpChannelParameters, type TopUpChannelReturnType } from './topUpChannel.ts'
export { unbondStake, type UnbondStakeParameters, type UnbondStakeReturnType } from './unbondStake.ts'
export { updateNode, type UpdateNodeParameters, type UpdateNodeReturnType } from './updateNode.ts'
export { verifyReceipt, type VerifyReceiptParameters, type VerifyReceiptReturnType } from './verifyReceipt.ts'
export { withdrawStake, type WithdrawStakeParameters, type WithdrawStakeReturnType } from './withdrawStake.ts'
export type { WalletClient } from './internal.ts'
export { getCloseStarts, type GetCloseStartsParameters, type GetCloseStartsReturnType } from './getCloseStarts.ts'
export { getNode, type GetNodeParameters, type GetNodeReturnType } from './getNode.ts'
export {
  verifyAttestationAnchor,
  type VerifyAttestationAnchorParameters,
  type VerifyAttestationAnchorReturnType,
} from './verifyAttestationAnchor.ts'
export {
  cancelScoreSubscription,
  type CancelScoreSubscriptionParameters,
  type CancelScoreSubscriptionReturnType,
} from './cancelScoreSubscription.ts'
export {
  cancelSubscription,
  type CancelSubscriptionParameters,
  type CancelSubscriptionReturnType,
} from './cancelSubscription.ts'
export {
  claimOracleRefund,
  type ClaimOracleRefundParameters,
  type ClaimOracleRefundReturnType,
} from './claimOracleRefund.ts'
export {
  claimScoreRefund,
  type ClaimScoreRefundParameters,
  type ClaimScoreRefundReturnType,
} from './claimScoreRefund.ts'
export {
  commitOracleAnswer,
  type CommitOracleAnswerParameters,
  type CommitOracleAnswerReturnType,
} from './commitOracleAnswer.ts'
export {
  createSubscription,
  type CreateSubscriptionParameters,
  type CreateSubscriptionReturnType,
  type SubscriptionParameters,
} from './createSubscription.ts'
export { finalizeOracle, type FinalizeOracleParameters, type FinalizeOracleReturnType } from './finalizeOracle.ts'
export {
  getOracleRequest,
  type GetOracleRequestParameters,
  type GetOracleRequestReturnType,
  type OracleRequest,
} from './getOracleRequest.ts'
export { getRound, type GetRoundParameters, type GetRoundReturnType } from './getRound.ts'
export { getRounds, type GetRoundsParameters, type GetRoundsReturnType, type SubscriptionRound } from './getRounds.ts'
export { getScore, type GetScoreParameters, type GetScoreReturnType } from './getScore.ts'
export { getSubscription, type GetSubscriptionParameters, type GetSubscriptionReturnType } from './getSubscription.ts'
export type { OracleSettlement } from './internal.ts'
export { openRound, type OpenRoundParameters, type OpenRoundReturnType } from './openRound.ts'
export { requestOracle, type RequestOracleParameters, type RequestOracleReturnType } from './requestOracle.ts'
export { requestScore, type RequestScoreParameters, type RequestScoreReturnType } from './requestScore.ts'
export {
  revealOracleAnswer,
  type RevealOracleAnswerParameters,
  type RevealOracleAnswerReturnType,
} from './revealOracleAnswer.ts'
export {
  subscribeScore,
  type ScoreSchedule,
  type SubscribeScoreParameters,
  type SubscribeScoreReturnType,
} from './subscribeScore.ts'
export {
  getOracleActivity,
  type GetOracleActivityParameters,
  type GetOracleActivityReturnType,
  type OracleRequestedEvent,
  type SubscriptionCreatedEvent,
} from './getOracleActivity.ts'
export {
  getRegisteredTemplate,
  type GetRegisteredTemplateParameters,
  type GetRegisteredTemplateReturnType,
} from './getRegisteredTemplate.ts'
export {
  getTemplateModel,
  registerTemplate,
  type GetTemplateModelParameters,
  type GetTemplateModelReturnType,
  type RegisterTemplateParameters,
  type RegisterTemplateReturnType,
} from './registerTemplate.ts'
