/** Opens a fixture page (served by the browser suite's Vite dev server) and waits until its script is ready. */
import type { Browser } from 'playwright-core'
import { inject } from 'vitest'
import { openWatchedPage, type WatchedPage } from './browser.ts'

export async function openFixture(browser: Browser, path: string): Promise<WatchedPage> {
  const watched = await openWatchedPage(browser, new URL(path, inject('devUrl')).href)
  await watched.page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 })
  return watched
}
