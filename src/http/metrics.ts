import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { prometheusName } from "./processMetrics.ts"

const lag = Metric.gauge("event_loop_lag_seconds", { description: "Event loop delay since the last scrape (99th percentile)" })
const lagMax = Metric.gauge("event_loop_lag_max_seconds", { description: "Largest event loop delay since the last scrape" })

/**
 * Prometheus exposition of the receiver. Every count is registered where it happens (ingress,
 * actors, change stream, outbox, state store, heartbeat files, reloads: `support/liveMetrics.ts`)
 * and read when metrics are taken; this only adds the event loop's delay and formats.
 */
export const makePrometheus = () => {
  const lagHistogram = monitorEventLoopDelay({ resolution: 10 })
  lagHistogram.enable()
  return Effect.gen(function*() {
    yield* Metric.update(lag, lagHistogram.percentile(99) / 1e9)
    yield* Metric.update(lagMax, lagHistogram.max / 1e9)
    lagHistogram.reset()
    return yield* PrometheusMetrics.format({ metricNameMapper: prometheusName })
  })
}
