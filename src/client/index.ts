/**
 * Modelex SDK: pay for prompts on the Modelex network from Node or a browser.
 *
 * @example
 * import { createClient } from 'modelex/client'
 * const client = createClient({ deployment, wallet })
 * const answer = await client.chat.completions.create({ model: 'modelex-demo-30m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 32 })
 * console.log(answer.choices[0]?.message.content, answer.modelex.cost)
 */
export {
  createClient,
  type ChatCompletion,
  type ChatCompletionChunk,
  type Completion,
  type CompletionChunk,
  type CreateClientParameters,
  type EquivocationRecord,
  type ModelexClient,
  type PaidResult,
  type PaidStream,
  type SlashReport,
  type StoredReceipt,
  type Verification,
} from './client.ts'
export type { JobRequest } from './client.ts'
export type { JobHandle, JobResultView, JobsApi, JobStatus, JobView, PostJobOptions } from './jobs.ts'
export { CLIENT_DEFAULTS } from './constants.ts'
export * from '../core/errors/payments.ts'
export { InferRequestError, InferStreamError } from '../core/errors/p2p.ts'
