/** Helpers for browser tests: a page that records every console error and uncaught exception. */
import type { Browser, Page } from 'playwright-core'

export type WatchedPage = { page: Page; errors: string[] }

export async function openWatchedPage(browser: Browser, url: string): Promise<WatchedPage> {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`)
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))
  await page.goto(url)
  return { page, errors }
}
