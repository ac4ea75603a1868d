import { MLCEngine, prebuiltAppConfig } from '@mlc-ai/web-llm'
import { expose } from 'comlink'
import { probeWebGpu } from '../src/engine/probe.ts'
import { createWebGpuEngine } from '../src/engine/webgpu/webgpu-engine.ts'
import { hostEngine } from '../src/engine/worker-host.ts'
import { installErrorTransfer } from '../src/engine/worker-errors.ts'

installErrorTransfer()
const deviceMemoryGB = (navigator as Navigator & { deviceMemory?: number }).deviceMemory
expose(
  hostEngine(
    createWebGpuEngine({
      appConfig: prebuiltAppConfig,
      createMlcEngine: (appConfig) => new MLCEngine({ appConfig }),
      probe: () => probeWebGpu(self),
      ...(deviceMemoryGB ? { deviceMemoryGB } : {}),
    }),
  ),
)
