/** Errors of the inference engines and of the browser capabilities they need. */
import { BaseError, registerErrorClass } from './base.ts'

export type WebGpuUnavailableReason = 'no-api' | 'insecure-context' | 'no-adapter' | 'adapter-failed'

export class WebGpuUnavailableError extends BaseError {
  override name = 'WebGpuUnavailableError' as const

  constructor({ reason, details, cause }: { reason: WebGpuUnavailableReason; details?: string; cause?: unknown }) {
    super(webGpuMessages[reason], { details, cause, data: { reason } })
  }

  // Subclass facts live in `data`, so they survive serialization without per-class code.
  get reason(): WebGpuUnavailableReason {
    return this.data?.['reason'] as WebGpuUnavailableReason
  }
}
registerErrorClass('WebGpuUnavailableError', WebGpuUnavailableError)

const webGpuMessages: Record<WebGpuUnavailableReason, string> = {
  'no-api':
    'WebGPU is not available: this browser has no navigator.gpu. Use a recent Chrome or Edge; on Linux start Chromium with --enable-unsafe-webgpu. The CPU engine still works.',
  'insecure-context': 'WebGPU is not available: the page is not a secure context. Open it over https or on localhost.',
  'no-adapter':
    'WebGPU is not available: the browser found no GPU adapter. The GPU may be blocklisted or its driver missing; the CPU engine still works.',
  'adapter-failed': 'WebGPU is not available: asking the browser for a GPU adapter failed.',
}
