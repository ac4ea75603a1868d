/**
 * Waiting on the Chat view as a user watches it: until the answer's receipt shows, or an error does. A wait that
 * ends without either says what the page was showing (its progress step, its last console lines), so a failure in
 * CI names the step that stalled instead of only "expected 0 to be 1".
 */
import type { Page } from 'playwright-core'

/** The last console lines of a page, kept for failure messages. */
export function consoleTail(page: Page, keep = 30): () => string[] {
  const lines: string[] = []
  page.on('console', (message) => {
    lines.push(`${message.type()}: ${message.text()}`)
    if (lines.length > keep) lines.shift()
  })
  return () => [...lines]
}

/** Waits until the Chat view shows `receipts` receipts; an error it shows first ends the wait with that error. */
export async function waitForReceipts(
  page: Page,
  receipts: number,
  options: { timeout: number; console?: () => string[] },
): Promise<void> {
  const outcome = await page
    .waitForFunction(
      (count) => {
        const texts = (testid: string) =>
          [...document.querySelectorAll(`[data-testid="${testid}"]`)].map((node) => node.textContent?.trim() ?? '')
        const errors = [...texts('chat-error'), ...texts('answer-error')]
        if (errors.length > 0) return { errors }
        return texts('receipt').length >= count ? { errors } : null
      },
      receipts,
      { timeout: options.timeout },
    )
    .then((handle) => handle.jsonValue())
    .catch(async (error: unknown) => {
      const step = await page
        .getByTestId('chat-progress')
        .textContent({ timeout: 1_000 })
        .catch(() => 'no progress shown')
      const lines = options.console?.() ?? []
      throw new Error(
        `the Chat view showed ${await page.getByTestId('receipt').count()} of ${receipts} receipts after ` +
          `${options.timeout} ms; it was at: ${step?.replace(/\s+/g, ' ').trim()}` +
          (lines.length > 0 ? `\nits console, last lines:\n${lines.join('\n')}` : ''),
        { cause: error },
      )
    })
  if (outcome && outcome.errors.length > 0)
    throw new Error(`the Chat view shows an error: ${outcome.errors.join(' | ')}`)
}
