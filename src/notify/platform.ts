import { NodeHttpClient, NodeServices } from "@effect/platform-node"
import { Layer } from "effect"
import { layerNoOutboxStore } from "./OutboxStore.ts"
import { layerSqliteOutboxStore } from "./sqliteOutboxStore.ts"
import { layerNoSilenceStore } from "./SilenceStore.ts"
import { layerSqliteSilenceStore } from "./sqliteSilenceStore.ts"

/** What the channels need from the machine: child processes (notify_devilry) and an HTTP client. */
export const layerChannelRuntime = Layer.mergeAll(NodeServices.layer, NodeHttpClient.layerUndici)

/**
 * The channel runtime and, with a state database, the tables that keep undelivered state changes
 * and silences across restarts (built after the state store they share the file with).
 */
export const layerChannelPlatform = (stateDatabase: string | undefined) =>
  Layer.mergeAll(
    layerChannelRuntime,
    stateDatabase === undefined ? layerNoOutboxStore : layerSqliteOutboxStore(stateDatabase),
    stateDatabase === undefined ? layerNoSilenceStore : layerSqliteSilenceStore(stateDatabase)
  )
