import { Context, Effect, Layer, Schema } from "effect"
import type { Silence } from "../monitor/silences.ts"
import { silenceKey } from "../monitor/silences.ts"

export class SilenceStoreError extends Schema.TaggedError<SilenceStoreError>()("SilenceStoreError", {
  reason: Schema.String
}) {}

/**
 * Where silences survive a restart: state.db (`sqliteSilenceStore.ts`), memory (a restart within
 * one test) or nowhere (`--no-state`). Written through: a silence is set or lifted once its row
 * is written.
 */
export class SilenceStore extends Context.Service<SilenceStore, {
  readonly location: string | undefined
  readonly loadAll: Effect.Effect<ReadonlyArray<Silence>, SilenceStoreError>
  /** Sets (or replaces) the silence of its client and resource. */
  readonly put: (silence: Silence) => Effect.Effect<void, SilenceStoreError>
  readonly remove: (client: string, resource: string | undefined) => Effect.Effect<void, SilenceStoreError>
}>()("heartbeat-mesh/notify/SilenceStore") {}

/** Keeps nothing: for --no-state. */
export const layerNoSilenceStore = Layer.succeed(SilenceStore)({
  location: undefined,
  loadAll: Effect.succeed([]),
  put: () => Effect.void,
  remove: () => Effect.void
})

/** Keeps silences in memory, shared by every receiver built on it: a restart within one test. */
export const layerMemorySilenceStore = (rows: Map<string, Silence> = new Map()) =>
  Layer.succeed(SilenceStore)({
    location: "memory",
    loadAll: Effect.sync(() => [...rows.values()]),
    put: (silence) => Effect.sync(() => void rows.set(silenceKey(silence.client, silence.resource), silence)),
    remove: (client, resource) => Effect.sync(() => void rows.delete(silenceKey(client, resource)))
  })
