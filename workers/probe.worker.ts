import { expose } from 'comlink'
import { createProbeApi } from '../src/engine/probe-worker.ts'
import { installErrorTransfer } from '../src/engine/worker-errors.ts'

installErrorTransfer()
expose(createProbeApi(self))
