import { expect, test } from 'vitest'
import { extraChromiumArgs, HARDWARE_GPU_FLAGS } from './chromium.ts'

test('MODELEX_CHROMIUM_ARGS adds flags, split on whitespace', () => {
  expect(extraChromiumArgs({})).toEqual([])
  expect(extraChromiumArgs({ MODELEX_CHROMIUM_ARGS: '  --use-angle=vulkan   --enable-features=Vulkan ' })).toEqual([
    '--use-angle=vulkan',
    '--enable-features=Vulkan',
  ])
  expect(HARDWARE_GPU_FLAGS).toContain('--enable-unsafe-webgpu')
})
