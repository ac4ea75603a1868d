/**
 * Reading the app's code editor (CodeMirror) from a test, as a user sees it: the document's text, and the ghost
 * suggestion shown at the cursor. The ghost is a widget inside the line, so the document's text leaves it out: the
 * editor may already show the next suggestion by the time a test reads what Tab inserted.
 */
import type { Page } from 'playwright-core'

/** The document's lines as shown, without any ghost suggestion. */
export function editorText(page: Page): Promise<string> {
  return page.evaluate(() =>
    [...document.querySelectorAll('.cm-content .cm-line')]
      .map((line) => {
        const shown = line.cloneNode(true) as Element
        for (const ghost of shown.querySelectorAll('.cm-ghost')) ghost.remove()
        return shown.textContent ?? ''
      })
      .join('\n'),
  )
}

/** The ghost suggestion's text, or null when none shows. */
export function ghostText(page: Page): Promise<string | null> {
  return page.evaluate(() => document.querySelector('.cm-ghost-text')?.textContent ?? null)
}
