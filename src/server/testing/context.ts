/** What the global setups hand to tests through vitest's `inject()`. */
import type { Deployment } from '../../core/deployment.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Integration: a fresh anvil with the contracts deployed. */
    deployment: Deployment
    /** Browser: the built app, served like production (`vite preview`). */
    appUrl: string
    /** Browser: the Vite dev server, for test fixture pages under src/. */
    devUrl: string
  }
}

export {}
