/** App-wide state shared by views: created once, on first import. */
import { startEngine } from '../engine/start.ts'
import { EngineSession } from './engine-session.svelte.ts'

export const engineSession = new EngineSession(startEngine)
