/** App-wide state shared by views: created once, on first import. */
import { startEngine } from '../engine/start.ts'
import { EngineSession } from './engine-session.svelte.ts'
import { StoragePersistence } from './storage-persistence.svelte.ts'

/** Whether the browser keeps this origin's storage (asked once a model is cached; the Models view shows the answer). */
export const storagePersistence = new StoragePersistence()

export const engineSession = new EngineSession(startEngine, { onReady: () => void storagePersistence.request() })
