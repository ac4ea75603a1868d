/**
 * Maps web-llm's errors (matched on `name`, which web-llm sets, and on message for fetch failures) to ours, so
 * callers see one set of typed errors whichever engine runs.
 */
import {
  BaseError,
  DeviceLostError,
  InvalidInferenceRequestError,
  ModelDoesNotFitError,
  ModelDownloadError,
  ModelLoadError,
  WebGpuUnavailableError,
} from '../../core/errors/index.ts'

export function mapWebLlmError(error: unknown, stage: 'load' | 'generate'): Error {
  if (error instanceof BaseError) return error
  const name = error instanceof Error ? error.name : ''
  const message = error instanceof Error ? error.message : String(error)
  switch (name) {
    case 'WebGPUNotAvailableError':
      return new WebGpuUnavailableError({ reason: 'no-api', details: message, cause: error })
    case 'WebGPUNotFoundError':
      return new WebGpuUnavailableError({ reason: 'no-adapter', details: message, cause: error })
    case 'DeviceLostError':
      return new DeviceLostError(
        'The GPU device was lost, most often because the model ran out of GPU memory. Try a smaller model or a shorter context.',
        { details: message, cause: error },
      )
    case 'ShaderF16SupportError':
    case 'FeatureSupportError':
      return new ModelDoesNotFitError(
        'This GPU lacks a feature the model needs (often shader-f16). Pick a q4f32 or q0f32 variant.',
        { details: message, cause: error },
      )
    case 'IntegrityError':
      return new ModelLoadError('A model file does not match its integrity hash: it is corrupt or was changed.', {
        details: message,
        cause: error,
        data: { reason: 'integrity' },
      })
    case 'ModelNotFoundError':
    case 'SpecifiedModelNotFoundError':
    case 'UnsupportedModelIdError':
    case 'MissingModelWasmError':
      return new ModelLoadError(
        'web-llm does not know this model. Pick one from the catalog or give its weights and library URLs.',
        { details: message, cause: error },
      )
    case 'ContextWindowSizeExceededError':
    case 'InvalidResponseFormatError':
    case 'InvalidResponseFormatGrammarError':
    case 'UnsupportedFieldsError':
    case 'SeedTypeError':
      return new InvalidInferenceRequestError('web-llm refused the request.', { details: message, cause: error })
  }
  if (/fetch|network|Failed to load|status code|HTTP/i.test(message) && stage === 'load') {
    return new ModelDownloadError(
      'Downloading the model failed. Check the network connection; the download resumes from the cache.',
      { details: message, cause: error },
    )
  }
  return stage === 'load'
    ? new ModelLoadError('The WebGPU engine could not load the model.', { details: message, cause: error })
    : new InvalidInferenceRequestError('The WebGPU engine failed to run the request.', {
        details: message,
        cause: error,
      })
}
