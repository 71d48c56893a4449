import { Effect, Layer } from "effect"
import { liveCounter } from "../support/liveMetrics.ts"
import { type ChangeCause, ResourceChanges } from "./ResourceChanges.ts"

const causes: ReadonlyArray<ChangeCause> = [
  "heartbeat",
  "start",
  "wake",
  "rare_check",
  "pause",
  "resume",
  "deregister",
  "configure",
  "restore"
]

/**
 * Metrics as a subscriber of the change stream: changes by cause (one increment per change) and
 * the listeners that threw.
 */
export const layerChangeMetrics = Layer.effectDiscard(
  Effect.gen(function*() {
    const changes = yield* ResourceChanges
    const byCause = Object.fromEntries(causes.map((cause) => [cause, 0])) as Record<ChangeCause, number>
    yield* changes.subscribe((change) => {
      byCause[change.cause]++
    })
    for (const cause of causes) {
      yield* liveCounter("resource_changes_total", "Changes of resource state applied by the actors, by cause", () => byCause[cause], { cause })
    }
    yield* liveCounter("change_listener_failures_total", "Subscribers of the change stream that threw (the others went on)", changes.listenerFailures)
  })
)
