/**
 * A node's quote for a request, checked before anything is signed: the node must quote as its signed announcement
 * and the registry say (signer, operator, registered prices), within the consumer's bound on the input count and
 * its spend limits (`checkQuote` in `src/core/bounds.ts`).
 */
import { checkQuote } from '../../core/bounds.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import { InvalidQuoteError } from '../../core/errors/payments.ts'
import type { InferenceRequest } from '../../core/inference.ts'
import { decodeQuote, type Prices, type Quote } from '../../core/quote.ts'
import { askQuote } from '../../p2p/infer-client.ts'
import type { ClientContext } from '../context.ts'

export type GetQuoteParameters = { entry: DirectoryEntry; request: InferenceRequest; signal?: AbortSignal }

export async function getQuote(context: ClientContext, { entry, request, signal }: GetQuoteParameters): Promise<Quote> {
  const { node } = await context.ready()
  const wire = await askQuote(node, { peer: entry.peerId, request, ...(signal ? { signal } : {}) })
  return verifyQuote(context, decodeQuote(wire), entry, request)
}

/** The node's registered prices, refused if the registry does not know it as this announcement's active node. */
export async function registeredPricesOf(context: ClientContext, entry: DirectoryEntry): Promise<Prices> {
  const registered = await context.registeredPrices(entry.announcement.operator)
  if (!registered.active || registered.signer.toLowerCase() !== entry.announcement.signer.toLowerCase())
    throw new InvalidQuoteError({
      details: `operator ${entry.announcement.operator} is not active with signer ${entry.announcement.signer} in the registry`,
    })
  return registered
}

export async function verifyQuote(
  context: ClientContext,
  quote: Quote,
  entry: DirectoryEntry,
  request: InferenceRequest,
): Promise<Quote> {
  const registered = await registeredPricesOf(context, entry)
  return checkQuote(quote, {
    request,
    registered,
    operator: entry.announcement.operator,
    signer: entry.announcement.signer,
    chainId: context.deployment.chainId,
    limits: context.limits,
  })
}
