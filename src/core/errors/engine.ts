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

/** A request the engine cannot run as asked (bad parameters, unsupported feature, prompt too long). */
export class InvalidInferenceRequestError extends BaseError {
  override name = 'InvalidInferenceRequestError' as const
}
registerErrorClass('InvalidInferenceRequestError', InvalidInferenceRequestError)

export class ModelNotLoadedError extends BaseError {
  override name = 'ModelNotLoadedError' as const
  constructor(details?: string) {
    super('No model is loaded in this engine. Load one first.', { details })
  }
}
registerErrorClass('ModelNotLoadedError', ModelNotLoadedError)

/** The request names a model other than the one loaded. */
export class ModelMismatchError extends BaseError {
  override name = 'ModelMismatchError' as const
  constructor({ requested, loaded }: { requested: string; loaded: string }) {
    super(`This engine has ${loaded} loaded, not ${requested}.`, { data: { requested, loaded } })
  }
}
registerErrorClass('ModelMismatchError', ModelMismatchError)

export class ModelLoadError extends BaseError {
  override name = 'ModelLoadError' as const
}
registerErrorClass('ModelLoadError', ModelLoadError)

/**
 * A model file whose keccak256 is not the content hash it was asked for: corrupt, tampered with, or not the model it
 * claims to be. Nothing of it is cached or loaded.
 */
export class ModelIntegrityError extends BaseError {
  override name = 'ModelIntegrityError' as const
  constructor({ expected, actual, url }: { expected: string; actual: string; url: string }) {
    super(
      'The model file does not match its content hash: it is corrupt or not the model it claims to be. Nothing was cached; check the URL or the catalog entry.',
      {
        details: `expected ${expected}, got ${actual} for ${url}`,
        data: { expected, actual, url },
      },
    )
  }
}
registerErrorClass('ModelIntegrityError', ModelIntegrityError)

export class ModelDownloadError extends BaseError {
  override name = 'ModelDownloadError' as const
}
registerErrorClass('ModelDownloadError', ModelDownloadError)

export class ModelDoesNotFitError extends BaseError {
  override name = 'ModelDoesNotFitError' as const
}
registerErrorClass('ModelDoesNotFitError', ModelDoesNotFitError)

export class DeviceLostError extends BaseError {
  override name = 'DeviceLostError' as const
}
registerErrorClass('DeviceLostError', DeviceLostError)

/** Generation was cancelled by its caller (AbortSignal or a closed stream). */
export class InferenceAbortedError extends BaseError {
  override name = 'InferenceAbortedError' as const
  constructor(details?: string) {
    super('The request was cancelled.', { details })
  }
}
registerErrorClass('InferenceAbortedError', InferenceAbortedError)

/** A model file that is not a valid GGUF file, or one this engine cannot run. */
export class InvalidModelFileError extends BaseError {
  override name = 'InvalidModelFileError' as const
  constructor(details: string, cause?: unknown) {
    super('The model file is not a valid GGUF model. Check the URL or file, or pick a model from the catalog.', {
      details,
      cause,
    })
  }
}
registerErrorClass('InvalidModelFileError', InvalidModelFileError)

/** A model file that is not where the node was told to find it (a path on this machine). */
export class ModelFileNotFoundError extends BaseError {
  override name = 'ModelFileNotFoundError' as const
  constructor({ path, cause }: { path: string; cause?: unknown }) {
    super('The model file was not found. Check the path (generate the demo models with npm run model:demo).', {
      details: path,
      data: { path },
      cause,
    })
  }
}
registerErrorClass('ModelFileNotFoundError', ModelFileNotFoundError)

/**
 * node-llama-cpp has no prebuilt native binary that loads on this machine for the backend asked for (CPU, CUDA,
 * Vulkan); nothing is ever compiled at run time, so the node cannot serve with this backend.
 */
export class NativeEngineUnavailableError extends BaseError {
  override name = 'NativeEngineUnavailableError' as const
  constructor({ backend, details, cause }: { backend: string; details?: string; cause?: unknown }) {
    super(
      `The native engine cannot start on this machine (backend: ${backend}): no prebuilt llama.cpp binary of node-llama-cpp loads here. Try the CPU backend, or reinstall node-llama-cpp for this platform.`,
      {
        details,
        cause,
        data: { backend },
      },
    )
  }
}
registerErrorClass('NativeEngineUnavailableError', NativeEngineUnavailableError)
