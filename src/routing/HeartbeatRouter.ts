import { Context, Effect, Layer } from "effect"
import type { ClientConfig, ReceiverConfig } from "../config/ReceiverConfig.ts"
import { factsOf, type WireHeartbeat } from "../domain/Heartbeat.ts"
import { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { TokenIndex } from "./TokenIndex.ts"
import { currentMonotonicMillis } from "../support/monotonicTime.ts"
import type { RunSignal } from "../monitor/runRules.ts"

export type IngestOutcome = "accepted" | "deregistered" | "unknown_token"

/**
 * The receiver's front door for validated heartbeats: authenticates the token, then hands the
 * heartbeat to the supervisor, which routes it to its resource actor.
 */
export class HeartbeatRouter extends Context.Service<HeartbeatRouter, {
  /** Synchronous, for the socket's hot path; `nowMs` is on the receiver's timeline (`monotonicMillis`). */
  readonly accept: (heartbeat: WireHeartbeat, nowMs: number) => IngestOutcome
  readonly ingest: (heartbeat: WireHeartbeat) => Effect.Effect<IngestOutcome>
  /** A run signal (HTTP ping) with its token: authenticated like a heartbeat. */
  readonly acceptSignal: (token: string, resource: string, signal: RunSignal, nowMs: number) => IngestOutcome
  /** Deregistration by an operator (HTTP API) rather than a sender (a removed client's resource: forgotten); false when unknown. */
  readonly deregister: (client: string, resource: string) => Effect.Effect<boolean>
  /** Takes a new configuration into use: tokens, clients, configured resources, severities. */
  readonly applyConfig: (config: ReceiverConfig) => void
  readonly config: () => ReceiverConfig
}>()("heartbeat-mesh/routing/HeartbeatRouter") {}

export const layerHeartbeatRouter = (initial: ReceiverConfig) =>
  Layer.effect(
    HeartbeatRouter,
    Effect.gen(function*() {
      const supervisor = yield* ResourceSupervisor
      let config = initial
      let tokens = new TokenIndex(initial.clients)

      const accept = (heartbeat: WireHeartbeat, nowMs: number): IngestOutcome => {
        const client = tokens.lookup(heartbeat.token, heartbeat.tokenIsNumber === true)
        if (client === undefined) return "unknown_token"
        if (heartbeat.deregister === true) {
          supervisor.deregister(client, heartbeat.resource, nowMs)
          return "deregistered"
        }
        supervisor.deliver(client, factsOf(heartbeat), nowMs)
        return "accepted"
      }

      return HeartbeatRouter.of({
        accept,
        ingest: (heartbeat) => Effect.map(currentMonotonicMillis, (nowMs) => accept(heartbeat, nowMs)),
        acceptSignal: (token, resource, signal, nowMs) => {
          const client = tokens.lookup(token)
          if (client === undefined) return "unknown_token"
          supervisor.signal(client, resource, signal, nowMs)
          return "accepted"
        },
        deregister: (clientName, resource) =>
          Effect.map(currentMonotonicMillis, (nowMs) => {
            const client = config.clients.find((candidate) => candidate.name === clientName)
            // A removed client's resource, kept for its retention: the operator forgets it now.
            if (client === undefined) return supervisor.forgetRemoved(clientName, resource)
            supervisor.deregister(client, resource, nowMs)
            return true
          }),
        applyConfig: (next) => {
          // Timing and identity are fixed for the life of the process; clients and resources follow the file.
          config = { ...next, timing: initial.timing, receiver: initial.receiver }
          tokens = new TokenIndex(next.clients)
          supervisor.applyConfig(config)
        },
        config: () => config
      })
    })
  )
