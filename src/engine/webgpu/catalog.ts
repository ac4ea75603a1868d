/**
 * web-llm's prebuilt catalog as Modelex records, and web-llm's weight cache (list, delete). Imported lazily by
 * the UI: web-llm is large, and most pages never need it.
 */
import { deleteModelAllInfoInCache, hasModelInCache, prebuiltAppConfig } from '@mlc-ai/web-llm'
import { webLlmRecords, type ModelRecord } from '../../core/models.ts'

export function webGpuCatalog(): ModelRecord[] {
  return webLlmRecords(prebuiltAppConfig.model_list)
}

export async function cachedWebGpuModels(records: readonly ModelRecord[]): Promise<string[]> {
  const cached: string[] = []
  for (const record of records) {
    if (await hasModelInCache(record.source, prebuiltAppConfig).catch(() => false)) cached.push(record.id)
  }
  return cached
}

export function deleteWebGpuModel(record: ModelRecord): Promise<void> {
  return deleteModelAllInfoInCache(record.source, prebuiltAppConfig)
}
