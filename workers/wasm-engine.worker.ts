import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import { expose } from 'comlink'
import { createWasmEngine } from '../src/engine/wasm/wasm-engine.ts'
import { hostEngine } from '../src/engine/worker-host.ts'
import { installErrorTransfer } from '../src/engine/worker-errors.ts'

installErrorTransfer()
expose(hostEngine(createWasmEngine({ wasmUrl })))
