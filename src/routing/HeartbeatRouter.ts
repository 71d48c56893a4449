import { Context, Effect, Layer } from "effect"
import type { ClientConfig, ReceiverConfig } from "../config/ReceiverConfig.ts"
import { factsOf, type WireHeartbeat } from "../domain/Heartbeat.ts"
import { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { TokenIndex } from "./TokenIndex.ts"
import { currentMonotonicMillis } from "../support/monotonicTime.ts"
import type { RunSignal } from "../monitor/runRules.ts"
import { defaultResourceLimits } from "../config/resourceLimits.ts"
import { liveCounter } from "../support/liveMetrics.ts"
import { NewResourceLimiter } from "./NewResourceLimit.ts"
import { DynDns } from "../dyndns/DynDns.ts"

/** What became of a heartbeat: taken, or refused for its token or for a per-client limit on new resources. */
export type IngestOutcome = "accepted" | "deregistered" | "unknown_token" | "new_resource_limit"

/**
 * The receiver's front door for validated heartbeats: authenticates the token, then hands the
 * heartbeat to the supervisor, which routes it to its resource actor.
 */
export class HeartbeatRouter extends Context.Service<HeartbeatRouter, {
  /**
   * Synchronous, for the socket's hot path; `nowMs` is on the receiver's timeline (`monotonicMillis`);
   * `source`: the sender's IP address where the transport knows it (UDP), for dynamic DNS.
   */
  readonly accept: (heartbeat: WireHeartbeat, nowMs: number, source?: string) => IngestOutcome
  readonly ingest: (heartbeat: WireHeartbeat) => Effect.Effect<IngestOutcome>
  /** A run signal (HTTP ping) with its token: authenticated like a heartbeat. */
  readonly acceptSignal: (token: string, resource: string, signal: RunSignal, nowMs: number, source?: string) => IngestOutcome
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
      // Dynamic DNS (issue 18.4): off unless the daemon provides it; a map lookup per heartbeat when on.
      const dyndns = yield* DynDns
      let config = initial
      let tokens = new TokenIndex(initial.clients)
      const newResources = new NewResourceLimiter(initial.resourceLimits ?? defaultResourceLimits)
      yield* liveCounter("new_resources_refused_total", "Heartbeats refused because they named a new resource past a per-client limit", () => newResources.refusedRate, { limit: "rate" })
      yield* liveCounter("new_resources_refused_total", "Heartbeats refused because they named a new resource past a per-client limit", () => newResources.refusedCap, { limit: "cap" })

      /** A name the receiver does not know yet pays its client's new-resource limits; a known one never does. */
      const mayAdd = (client: ClientConfig, resource: string, nowMs: number): boolean =>
        supervisor.find(client.name, resource) !== undefined ||
        newResources.admit(client.name, supervisor.sizeOf(client.name), nowMs) === "admitted"

      const accept = (heartbeat: WireHeartbeat, nowMs: number, source?: string): IngestOutcome => {
        const client = tokens.lookup(heartbeat.token, heartbeat.tokenIsNumber === true)
        if (client === undefined) return "unknown_token"
        if (heartbeat.deregister === true) {
          supervisor.deregister(client, heartbeat.resource, nowMs)
          return "deregistered"
        }
        if (!mayAdd(client, heartbeat.resource, nowMs)) return "new_resource_limit"
        supervisor.deliver(client, factsOf(heartbeat), nowMs)
        dyndns.observe(client.name, heartbeat.resource, source, heartbeat.payload, nowMs)
        return "accepted"
      }

      return HeartbeatRouter.of({
        accept,
        ingest: (heartbeat) => Effect.map(currentMonotonicMillis, (nowMs) => accept(heartbeat, nowMs)),
        acceptSignal: (token, resource, signal, nowMs, source) => {
          const client = tokens.lookup(token)
          if (client === undefined) return "unknown_token"
          if (!mayAdd(client, resource, nowMs)) return "new_resource_limit"
          supervisor.signal(client, resource, signal, nowMs)
          dyndns.observe(client.name, resource, source, signal.kind === "start" ? undefined : signal.heartbeat.payload, nowMs)
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
          newResources.setLimits(next.resourceLimits ?? defaultResourceLimits)
          supervisor.applyConfig(config)
          dyndns.applyConfig(config)
        },
        config: () => config
      })
    })
  )
