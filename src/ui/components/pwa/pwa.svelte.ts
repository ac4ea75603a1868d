/**
 * The service worker as rune state for the app chrome: registers it (vite-plugin-pwa's `registerSW`, injected so
 * the logic runs in Node tests), says when the app is ready to start offline, and when a new version has installed
 * and waits: `update()` tells it to take over, and the page reloads into the new version. Until the user accepts,
 * the running version keeps serving (`registerType: 'prompt'` in vite.config.ts). Also checks for a new version
 * every hour, since an installed app can stay open for days.
 */
import type { RegisterSWOptions } from 'vite-plugin-pwa/types'

export type RegisterServiceWorker = (options: RegisterSWOptions) => (reloadPage?: boolean) => Promise<void>

export type PwaDependencies = {
  register: RegisterServiceWorker
  /** How often to ask the server for a new service worker; 0: never. */
  checkEveryMs?: number
  setInterval?: (run: () => void, ms: number) => unknown
  clearInterval?: (handle: unknown) => void
  /** Calls `run` once when a new service worker takes control of this page. */
  onControllerChange?: (run: () => void) => void
  reload?: () => void
}

export const UPDATE_CHECK_MS = 60 * 60 * 1000

export class PwaState {
  /** A new version has installed and waits for the user's go-ahead. */
  needRefresh = $state(false)
  /** The app shell is cached: the app starts without a network from now on. */
  offlineReady = $state(false)
  /** A page controlled by the service worker (false on the first visit until it claims the page). */
  registered = $state(false)
  updating = $state(false)
  error = $state<string | null>(null)
  #deps: Required<PwaDependencies>
  #update: ((reloadPage?: boolean) => Promise<void>) | null = null
  #timer: unknown = null

  constructor(deps: PwaDependencies) {
    this.#deps = {
      checkEveryMs: UPDATE_CHECK_MS,
      setInterval: (run, ms) => setInterval(run, ms),
      clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
      onControllerChange: (run) => navigator.serviceWorker?.addEventListener('controllerchange', run, { once: true }),
      reload: () => location.reload(),
      ...deps,
    }
  }

  start(): void {
    if (this.#update) return
    this.#update = this.#deps.register({
      onNeedRefresh: () => (this.needRefresh = true),
      onOfflineReady: () => (this.offlineReady = true),
      onRegisteredSW: (_url, registration) => {
        this.registered = registration !== undefined
        if (registration && this.#deps.checkEveryMs > 0)
          this.#timer = this.#deps.setInterval(
            () => void registration.update().catch(() => {}),
            this.#deps.checkEveryMs,
          )
      },
      onRegisterError: (error: unknown) => (this.error = error instanceof Error ? error.message : String(error)),
    })
  }

  /**
   * Lets the waiting version take over; the page reloads when it controls the page. The reload is ours: Workbox's
   * own reloads only a page that had a service worker when it loaded, not the tab of a first visit kept open.
   */
  async update(): Promise<void> {
    if (!this.#update || !this.needRefresh) return
    this.updating = true
    this.#deps.onControllerChange(() => this.#deps.reload())
    try {
      await this.#update(true)
    } catch (error) {
      this.updating = false
      this.error = error instanceof Error ? error.message : String(error)
    }
  }

  /** Keeps the running version for now; the new one takes over when every tab of the app has closed. */
  dismiss(): void {
    this.needRefresh = false
    this.offlineReady = false
  }

  stop(): void {
    if (this.#timer !== null) this.#deps.clearInterval(this.#timer)
    this.#timer = null
  }
}
