/**
 * Registers a prompt template on the OracleRouter: its canonical JSON is the registered text, so the router's
 * hash (keccak256 of the text) is the template's id, and nodes can read the text back from the
 * `TemplateRegistered` event or fetch it by hash over libp2p. Anyone may register a template once; a second
 * registration of the same text reverts with `TemplateExists` (a `ContractRevertedError`).
 */
import { parseEventLogs, type Address, type Client, type Hash, type Hex } from 'viem'
import { readContract } from 'viem/actions'
import { canonicalJson, templateId, type PromptTemplate } from '../../core/templates.ts'
import { oracleRouterAbi } from '../generated.ts'
import { execute, type WalletClient } from './internal.ts'

export type RegisterTemplateParameters = {
  router: Address
  template: PromptTemplate
  /** The model the template is registered for; default: its first tested model. */
  modelHash?: Hex
}
export type RegisterTemplateReturnType = { templateHash: Hex; modelHash: Hex; transactionHash: Hash }

export async function registerTemplate(
  client: WalletClient,
  { router, template, modelHash = template.models[0]?.contentHash }: RegisterTemplateParameters,
): Promise<RegisterTemplateReturnType> {
  if (!modelHash) throw new Error('The template names no tested model: pass modelHash.')
  const { transactionHash, receipt } = await execute(client, 'OracleRouter', {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'registerTemplate',
    args: [canonicalJson(template), modelHash],
  })
  const [event] = parseEventLogs({ abi: oracleRouterAbi, eventName: 'TemplateRegistered', logs: receipt.logs })
  if (!event) throw new Error(`No TemplateRegistered event in ${transactionHash}`)
  // The router hashes the bytes it was sent; ours are the canonical JSON, so both ids are one.
  if (event.args.templateHash !== templateId(template))
    throw new Error(`The router registered ${event.args.templateHash}, not the template's id ${templateId(template)}`)
  return { templateHash: event.args.templateHash, modelHash: event.args.modelHash, transactionHash }
}

export type GetTemplateModelParameters = { router: Address; templateHash: Hex }
/** The model a template is registered for, or null when the template is not registered. */
export type GetTemplateModelReturnType = Hex | null

export async function getTemplateModel(
  client: Client,
  { router, templateHash }: GetTemplateModelParameters,
): Promise<GetTemplateModelReturnType> {
  const model = await readContract(client, {
    address: router,
    abi: oracleRouterAbi,
    functionName: 'templateModel',
    args: [templateHash],
  })
  return /^0x0{64}$/.test(model) ? null : model
}
