import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { monitorEventLoopDelay } from "node:perf_hooks"
import type { ResourceSupervisor } from "../actors/ResourceSupervisor.ts"
import { rejectReasons } from "../ingress/FrameDecoder.ts"
import type { Ingress } from "../ingress/ZmqIngress.ts"
import type { Outbox } from "../notify/Outbox.ts"
import { resourceStatuses, statusOf } from "../monitor/resourceStatus.ts"

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })
const gauge = (name: string, description: string) => Metric.gauge(name, { description })

const metrics = {
  received: counter("heartbeats_received_total", "Heartbeat frames read from the socket"),
  accepted: counter("heartbeats_accepted_total", "Heartbeats authenticated and routed to their resource"),
  deregistered: counter("heartbeats_deregistered_total", "Deregistrations received from senders"),
  rejected: counter("heartbeats_rejected_total", "Frames dropped, by reason"),
  sent: counter("notifications_sent_total", "Notifications handed to the notifier"),
  failed: counter("notifications_failed_total", "Notifications the notifier failed to deliver (after retry)"),
  shed: counter("notifications_shed_total", "Notifications dropped as superseded during a storm"),
  queued: gauge("notifications_queued", "Notifications waiting to be sent"),
  restarts: counter("actor_restarts_total", "Resource actors restarted after a defect"),
  resources: gauge("resources", "Resources by status"),
  lag: gauge("event_loop_lag_seconds", "Event loop delay since the last scrape (99th percentile)"),
  lagMax: gauge("event_loop_lag_max_seconds", "Largest event loop delay since the last scrape")
}

export interface MetricSources {
  readonly ingress: Ingress["Service"]
  readonly outbox: Outbox["Service"]
  readonly supervisor: ResourceSupervisor["Service"]
}

/**
 * Prometheus exposition of the receiver. The hot paths keep plain counters; a scrape turns their
 * growth since the previous scrape into metric updates, so metrics cost nothing per heartbeat.
 */
export const makePrometheus = (sources: MetricSources) => {
  const lagHistogram = monitorEventLoopDelay({ resolution: 10 })
  lagHistogram.enable()
  const last = new Map<string, number>()
  // Updating with 0 on the first scrape makes every series (each rejection reason included) visible
  // from the start, as Prometheus conventions ask.
  const addGrowth = (key: string, metric: Metric.Metric<number, unknown>, total: number) => {
    const previous = last.get(key)
    last.set(key, total)
    const delta = total - (previous ?? 0)
    return previous === undefined || delta > 0 ? Metric.update(metric, Math.max(0, delta)) : Effect.void
  }

  return Effect.gen(function*() {
    const ingress = sources.ingress.counters()
    const outbox = sources.outbox.counters()
    yield* addGrowth("received", metrics.received, ingress.received)
    yield* addGrowth("accepted", metrics.accepted, ingress.accepted)
    yield* addGrowth("deregistered", metrics.deregistered, ingress.deregistered)
    for (const reason of rejectReasons) {
      yield* addGrowth(`rejected:${reason}`, Metric.withAttributes(metrics.rejected, { reason }), ingress.rejected[reason])
    }
    yield* addGrowth("sent", metrics.sent, outbox.sent)
    yield* addGrowth("failed", metrics.failed, outbox.failed)
    yield* addGrowth("shed", metrics.shed, outbox.shed)
    yield* Metric.update(metrics.queued, outbox.queued)
    yield* addGrowth("restarts", metrics.restarts, sources.supervisor.restarts())

    const moment = sources.supervisor.moment(Date.now())
    const byStatus = Object.fromEntries(resourceStatuses.map((status) => [status, 0])) as Record<string, number>
    for (const actor of sources.supervisor.actors()) byStatus[statusOf(actor.state, actor.profile, moment)]!++
    for (const status of resourceStatuses) {
      yield* Metric.update(Metric.withAttributes(metrics.resources, { status }), byStatus[status]!)
    }

    yield* Metric.update(metrics.lag, lagHistogram.percentile(99) / 1e9)
    yield* Metric.update(metrics.lagMax, lagHistogram.max / 1e9)
    lagHistogram.reset()
    return yield* PrometheusMetrics.format({ prefix: "heartbeat_mesh" })
  })
}
