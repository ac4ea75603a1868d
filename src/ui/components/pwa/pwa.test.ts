import type { RegisterSWOptions } from 'vite-plugin-pwa/types'
import { describe, expect, test } from 'vitest'
import { PwaState, type RegisterServiceWorker } from './pwa.svelte.ts'

/** vite-plugin-pwa's `registerSW` stands for the browser's service worker API, which Node does not have: played here. */
function fakeRegister(): { register: RegisterServiceWorker; options: () => RegisterSWOptions; updates: boolean[] } {
  let seen: RegisterSWOptions | null = null
  const updates: boolean[] = []
  return {
    updates,
    options: () => seen!,
    register: (options) => {
      seen = options
      return async (reload) => void updates.push(reload ?? false)
    },
  }
}

describe('PwaState', () => {
  test('a waiting version shows the prompt; update() lets it take over', async () => {
    const sw = fakeRegister()
    let takeOver: (() => void) | null = null
    let reloads = 0
    const pwa = new PwaState({
      register: sw.register,
      checkEveryMs: 0,
      onControllerChange: (run) => (takeOver = run),
      reload: () => reloads++,
    })
    pwa.start()
    expect(pwa.needRefresh).toBe(false)
    await pwa.update()
    expect(sw.updates).toEqual([])
    sw.options().onNeedRefresh?.()
    expect(pwa.needRefresh).toBe(true)
    await pwa.update()
    expect(sw.updates).toEqual([true])
    expect(pwa.updating).toBe(true)
    // The page reloads once the new version controls it, not before.
    expect(reloads).toBe(0)
    takeOver!()
    expect(reloads).toBe(1)
  })

  test('offline ready, and dismissing keeps the running version', () => {
    const sw = fakeRegister()
    const pwa = new PwaState({ register: sw.register, checkEveryMs: 0 })
    pwa.start()
    sw.options().onOfflineReady?.()
    expect(pwa.offlineReady).toBe(true)
    sw.options().onNeedRefresh?.()
    pwa.dismiss()
    expect([pwa.needRefresh, pwa.offlineReady]).toEqual([false, false])
  })

  test('registers once and checks for a new version on its interval until stopped', async () => {
    const sw = fakeRegister()
    let registrations = 0
    const timers: { run: () => void; ms: number; cleared: boolean }[] = []
    const pwa = new PwaState({
      register: (options) => (registrations++, sw.register(options)),
      checkEveryMs: 1000,
      setInterval: (run, ms) => (timers.push({ run, ms, cleared: false }), timers.length - 1),
      clearInterval: (handle) => void (timers[handle as number]!.cleared = true),
    })
    pwa.start()
    pwa.start()
    expect(registrations).toBe(1)
    let checks = 0
    sw.options().onRegisteredSW?.('/sw.js', {
      update: async () => void checks++,
    } as unknown as ServiceWorkerRegistration)
    expect(pwa.registered).toBe(true)
    expect(timers.map((t) => t.ms)).toEqual([1000])
    timers[0]!.run()
    timers[0]!.run()
    expect(checks).toBe(2)
    pwa.stop()
    expect(timers[0]!.cleared).toBe(true)
  })

  test('a registration error is shown, not thrown', () => {
    const sw = fakeRegister()
    const pwa = new PwaState({ register: sw.register, checkEveryMs: 0 })
    pwa.start()
    sw.options().onRegisterError?.(new Error('SecurityError: insecure origin'))
    expect(pwa.error).toMatch(/insecure origin/)
  })
})
