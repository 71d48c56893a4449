import { Effect, Layer } from "effect"
import { CheckAlerts } from "../checkAlerts/CheckAlerts.ts"
import { History } from "./History.ts"

/**
 * Check level changes (issue 20's checks) in the history of their resource: one `check` entry per
 * change, with the check's name, its level before and after, its value and text.
 */
export const layerCheckHistory = Layer.effectDiscard(
  Effect.gen(function*() {
    const history = yield* History
    const checks = yield* CheckAlerts
    yield* checks.subscribeLevels((change, transitions) => {
      for (const transition of transitions) {
        history.record(change.profile.client, change.profile.resource, "check", {
          check: transition.key,
          from: transition.from ?? null,
          level: transition.check.level,
          value: transition.check.value,
          text: transition.check.text
        })
      }
    })
  })
)
