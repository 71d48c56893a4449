import { NodeHttpClient, NodeServices } from "@effect/platform-node"
import { Layer } from "effect"
import { layerNoOutboxStore } from "./OutboxStore.ts"
import { layerSqliteOutboxStore } from "./sqliteOutboxStore.ts"

/**
 * What the channels need from the machine: child processes (notify_devilry), an HTTP client
 * (webhook, alerta, slack, telegram, pushover, ntfy) and, with a state database, the table that
 * keeps undelivered state changes across restarts.
 */
export const layerChannelPlatform = (stateDatabase: string | undefined) =>
  Layer.mergeAll(
    NodeServices.layer,
    NodeHttpClient.layerUndici,
    stateDatabase === undefined ? layerNoOutboxStore : layerSqliteOutboxStore(stateDatabase)
  )
