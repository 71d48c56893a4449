import { Effect, Layer } from "effect"
import { Silences } from "../notify/Silences.ts"
import { History } from "./History.ts"
import { clientWide } from "./HistoryStore.ts"

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Silences (issue 18.3) in the history: `silenced` when one is set (who, from, until, why),
 * `unsilenced` when it is lifted (who) or ends by itself. A whole client's silence is one entry
 * under the client (`clientWide`), shown in the history of each of its resources.
 */
export const layerSilenceHistory = Layer.effectDiscard(
  Effect.gen(function*() {
    const history = yield* History
    const silences = yield* Silences
    yield* silences.subscribe((event) => {
      const { silence } = event
      const scope = silence.resource === undefined ? "client" : "resource"
      const resource = silence.resource ?? clientWide
      if (event.kind === "silenced") {
        history.record(silence.client, resource, "silenced", {
          by: silence.by,
          from: iso(silence.fromMs),
          until: iso(silence.untilMs),
          reason: silence.reason,
          scope
        })
      } else {
        history.record(silence.client, resource, "unsilenced", {
          by: event.by ?? null,
          reason: silence.reason,
          ended: event.kind === "lifted" ? "lifted" : "expired",
          scope
        })
      }
    })
  })
)
