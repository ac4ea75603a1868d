/**
 * Parameters the contracts are deployed with on the devnet, and the example oracle template. Shared by the deploy
 * function, the gas bench and the tests so they all talk about the same network.
 */
import { parseEther, type Hex } from 'viem'
import { DEMO_MODELS } from '../core/models.ts'
import {
  canonicalJson,
  SENTIMENT_TEMPLATE as BUILTIN_SENTIMENT_TEMPLATE,
  templateId,
  type PromptTemplate,
} from '../core/templates.ts'

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

/**
 * The devnet SentimentConsumer's template: the built-in sentiment template (an integer score from -100 to 100 for one
 * headline; the consumer's `asset` string is the headline), registered on the OracleRouter as its canonical JSON so
 * the router's hash is the template's id and nodes parse it back from the TemplateRegistered event.
 */
export const SENTIMENT_TEMPLATE: PromptTemplate = BUILTIN_SENTIMENT_TEMPLATE
export const SENTIMENT_TEMPLATE_TEXT = canonicalJson(SENTIMENT_TEMPLATE)
export const SENTIMENT_TEMPLATE_HASH: Hex = templateId(SENTIMENT_TEMPLATE)
/** The model the devnet's sentiment template is registered for: the demo model `npm start`'s provider serves. */
export const SENTIMENT_MODEL_ID = 'modelex-demo-30m'
export const SENTIMENT_MODEL_HASH: Hex = demoModelHash(SENTIMENT_MODEL_ID)

function demoModelHash(id: string): Hex {
  const model = DEMO_MODELS.find((candidate) => candidate.id === id)
  if (!model?.contentHash) throw new Error(`No pinned content hash for the demo model ${id}`)
  return model.contentHash as Hex
}
