/**
 * The receiver.yaml keys of issue 20: `threshold_sets:` (top level) and `thresholds:` per client and
 * per resource. Kept apart from ReceiverConfig.ts, which only calls `parseReceiverThresholds`.
 * Layering, for one resource: the client's `thresholds:`, then the resource's, each a mapping or a
 * list of set names and mappings. Where the receiver has a threshold for a check it evaluates the
 * metric itself; elsewhere the sender's level stands.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import {
  layerThresholds,
  resolveThresholdLayers,
  ThresholdLayersSchema,
  ThresholdSetsSchema,
  type ThresholdTable
} from "../checks/thresholds.ts"
import { describeSchemaIssues } from "./configIssues.ts"

export interface ReceiverThresholds {
  /** The layered table for one resource; empty when neither its client nor it has thresholds. */
  readonly forResource: (client: string, resource: string) => ThresholdTable
}

const ThresholdsYaml = Schema.Struct({
  threshold_sets: Schema.optionalKey(Schema.NullOr(ThresholdSetsSchema)),
  clients: Schema.optionalKey(Schema.NullOr(Schema.Record(
    Schema.String,
    Schema.Struct({
      thresholds: Schema.optionalKey(Schema.NullOr(ThresholdLayersSchema)),
      resources: Schema.optionalKey(Schema.NullOr(Schema.Record(
        Schema.String,
        Schema.NullOr(Schema.Struct({ thresholds: Schema.optionalKey(Schema.NullOr(ThresholdLayersSchema)) }))
      )))
    })
  )))
})

const decodeThresholdsYaml = Schema.decodeUnknownResult(ThresholdsYaml)

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value)

const thresholdKeysOf = (raw: unknown) => {
  if (!isRecord(raw)) return {}
  const clients: Record<string, unknown> = {}
  for (const [name, client] of Object.entries(isRecord(raw["clients"]) ? raw["clients"] : {})) {
    if (!isRecord(client)) continue
    const resources: Record<string, unknown> = {}
    for (const [resource, settings] of Object.entries(isRecord(client["resources"]) ? client["resources"] : {})) {
      if (isRecord(settings) && "thresholds" in settings) resources[resource] = { thresholds: settings["thresholds"] }
    }
    clients[name] = { ...("thresholds" in client ? { thresholds: client["thresholds"] } : {}), resources }
  }
  return { ...("threshold_sets" in raw ? { threshold_sets: raw["threshold_sets"] } : {}), clients }
}

const empty: ThresholdTable = {}

export const noReceiverThresholds: ReceiverThresholds = { forResource: () => empty }

/**
 * Reads the threshold keys of a receiver.yaml document (already parsed YAML). Other keys are
 * ReceiverConfig's business and are left alone. Every problem is listed.
 */
export const parseReceiverThresholds = (raw: unknown): Result.Result<ReceiverThresholds, ReadonlyArray<string>> => {
  // Only the threshold keys, and only where the surrounding shape is right: a top level, client or
  // resource that is not a mapping is reported once, by ReceiverConfig's own schema.
  const only = thresholdKeysOf(raw)
  const decoded = decodeThresholdsYaml(only, { errors: "all" })
  if (Result.isFailure(decoded)) return Result.fail(describeSchemaIssues(decoded.failure, only))
  const sets = decoded.success.threshold_sets ?? {}
  const problems: Array<string> = []
  const resolve = (layers: Parameters<typeof resolveThresholdLayers>[0] | null | undefined, where: string) => {
    const result = resolveThresholdLayers(layers ?? undefined, sets, where)
    if (Result.isFailure(result)) {
      problems.push(...result.failure)
      return empty
    }
    return result.success
  }
  const byClient = new Map<string, { table: ThresholdTable; resources: Map<string, ThresholdTable> }>()
  for (const [client, entry] of Object.entries(decoded.success.clients ?? {})) {
    const table = resolve(entry.thresholds, `clients.${client}.thresholds`)
    const resources = new Map<string, ThresholdTable>()
    for (const [resource, settings] of Object.entries(entry.resources ?? {})) {
      if (settings?.thresholds === undefined || settings.thresholds === null) continue
      resources.set(resource, layerThresholds([table, resolve(settings.thresholds, `clients.${client}.resources.${resource}.thresholds`)]))
    }
    if (Object.keys(table).length > 0 || resources.size > 0) byClient.set(client, { table, resources })
  }
  if (problems.length > 0) return Result.fail(problems)
  if (byClient.size === 0) return Result.succeed(noReceiverThresholds)
  return Result.succeed({
    forResource: (client, resource) => {
      const entry = byClient.get(client)
      return entry === undefined ? empty : entry.resources.get(resource) ?? entry.table
    }
  })
}
