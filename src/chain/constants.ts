/**
 * Parameters the contracts are deployed with on the devnet, and the example oracle template. Shared by the deploy
 * function, the gas bench and the tests so they all talk about the same network.
 */
import { keccak256, parseEther, toHex } from 'viem'

export const DEVNET_PARAMETERS = {
  /** Blocks transfers pause for when a split starts. */
  splitPauseBlocks: 10n,
  /** Public-tier minimum node stake. */
  minStake: parseEther('1000'),
  /** Seconds between deregistering and withdrawing stake (short on the devnet so demos can finish). */
  unbondingDelay: 3_600n,
  /** Seconds a node may still redeem after the consumer starts closing a channel. */
  challengePeriod: 600n,
  /** AI each of anvil's test accounts gets. */
  accountFunding: parseEther('1000000'),
} as const

/** The SentimentConsumer's template; nodes read it from the TemplateRegistered event. */
export const SENTIMENT_TEMPLATE = 'Rate the market sentiment of {asset} from -1 to 1. Answer with one number.'
export const SENTIMENT_TEMPLATE_HASH = keccak256(toHex(SENTIMENT_TEMPLATE))
/** Placeholder model hash the devnet's sentiment template runs on. */
export const SENTIMENT_MODEL_HASH = keccak256(toHex('modelex:sentiment-model'))
