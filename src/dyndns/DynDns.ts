/**
 * Dynamic DNS (issue 18.4, hbd's `dyndnshosts`): resources with `dyndns:` get their A or AAAA
 * record replaced (RFC 2136 UPDATE, TSIG-signed) when the address they send from changes.
 *
 * The router calls `observe` for every accepted heartbeat with the transport's source address
 * (UDP, HTTP) and the payload (`payload.address` overrides): a map lookup for a resource without
 * `dyndns:`; for one with it, the pure rules (`monitor/dyndnsRules.ts`) pick the address and say
 * whether it changed. A change is queued, never sent on the heartbeat's path: one entry per record
 * (a resource's A or AAAA), coalesced (a newer address replaces a queued one in place), at most
 * `maxPending` entries (past that dropped and counted; the next heartbeat asks again). Worker
 * fibers send them, one at a time per record, each attempt bounded by `attemptTimeoutMs`, retried
 * on an exponential `Schedule` (capped) while the failure is worth retrying and no newer address
 * waits. Results go to `/metrics`, the log and the resource's history (`dyndns` entries).
 */
import { Context, Effect, Latch, Layer, Redacted, Schedule } from "effect"
import type { DyndnsSettings } from "../config/dyndnsConfig.ts"
import type { ReceiverConfig } from "../config/ReceiverConfig.ts"
import { type AddressFamily, addressOf, needsUpdate, type RecordMemory } from "../monitor/dyndnsRules.ts"
import { History } from "../history/History.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { currentMonotonicMillis } from "../support/monotonicTime.ts"
import { throttledLog } from "../support/writeBehind.ts"
import { DnsUpdateError, sendDnsUpdate } from "./dnsClient.ts"

export interface DynDnsCounters {
  readonly updated: number
  readonly failed: number
  readonly superseded: number
  readonly retried: number
  readonly dropped: number
  readonly invalidAddresses: number
  readonly pending: number
}

export interface DynDnsService {
  /**
   * A heartbeat of `client`'s `resource` was accepted: `source` is the sender's address where the
   * transport knows it (UDP, HTTP), `payload` the heartbeat's. Synchronous and cheap; never fails.
   */
  readonly observe: (client: string, resource: string, source: string | undefined, payload: unknown, nowMs: number) => void
  /**
   * An operator's forced re-registration (hbd's "DNS re-registration"): the resource's records are
   * sent again with the addresses last heard, whatever was sent before. `not_configured`: the
   * resource has no `dyndns:`; `no_address`: no address heard since the receiver started. An
   * operator's request is never dropped: it may take the queue past its bound by its two records.
   */
  readonly reregister: (client: string, resource: string, nowMs: number) => "queued" | "not_configured" | "no_address"
  /** A reload's resources: records whose settings changed are forgotten (the next heartbeat updates them). */
  readonly applyConfig: (config: ReceiverConfig) => void
  readonly counters: () => DynDnsCounters
}

const off: DynDnsService = {
  observe: () => {},
  reregister: () => "not_configured",
  applyConfig: () => {},
  counters: () => ({ updated: 0, failed: 0, superseded: 0, retried: 0, dropped: 0, invalidAddresses: 0, pending: 0 })
}

/** Off unless the daemon provides it, so tests and benchmarks that build the core need not. */
export const DynDns: Context.Reference<DynDnsService> = Context.Reference("heartbeat-mesh/dyndns/DynDns", {
  defaultValue: () => off
})

export interface DynDnsOptions {
  /** Records waiting to be sent; past this a new one is dropped (counted). */
  readonly maxPending: number
  /** Updates sent at once (to any servers; never two for one record). */
  readonly workers: number
  readonly attemptTimeoutMs: number
  /** Retries after the first attempt, `retryBaseMs` doubling up to `retryMaxMs` apart. */
  readonly retries: number
  readonly retryBaseMs: number
  readonly retryMaxMs: number
  /** A heartbeat asks again for an address whose update failed this long ago. */
  readonly retryFailedAfterMs: number
}

export const defaultDynDnsOptions: DynDnsOptions = {
  maxPending: 10_000,
  workers: 4,
  attemptTimeoutMs: 5_000,
  retries: 5,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  retryFailedAfterMs: 300_000
}

interface Job {
  readonly key: string
  readonly client: string
  readonly resource: string
  readonly type: AddressFamily
  readonly address: string
}

type Targets = Map<string, Map<string, DyndnsSettings>>

/** The resources with `dyndns:` whose key was read (loadReceiverConfig reads them). */
const targetsOf = (config: ReceiverConfig): Targets => {
  const targets: Targets = new Map()
  for (const client of config.clients) {
    for (const [resource, settings] of client.resources) {
      if (settings.dyndns?.key === undefined) continue
      let perClient = targets.get(client.name)
      if (perClient === undefined) targets.set(client.name, perClient = new Map())
      perClient.set(resource, settings.dyndns)
    }
  }
  return targets
}

const secretText = (settings: DyndnsSettings) => settings.key === undefined ? "" : Buffer.from(Redacted.value(settings.key.secret)).toString("base64")

/** Whether a reload changed where or how a record is written. */
const sameTarget = (a: DyndnsSettings, b: DyndnsSettings) =>
  a.zone === b.zone && a.name === b.name && a.server.host === b.server.host && a.server.port === b.server.port && a.ttl === b.ttl &&
  a.key?.name === b.key?.name && a.key?.algorithm === b.key?.algorithm && secretText(a) === secretText(b)

const serverText = (settings: DyndnsSettings) => settings.server.port === 53 ? settings.server.host : `${settings.server.host}:${settings.server.port}`

const recordKey = (client: string, resource: string, type: AddressFamily) => `${client}\u0000${resource}\u0000${type}`

export const layerDynDns = (config: ReceiverConfig, options: DynDnsOptions = defaultDynDnsOptions) =>
  Layer.effect(
    DynDns,
    Effect.gen(function*() {
      const history = yield* History
      const context = yield* Effect.context<never>()
      const log = (effect: Effect.Effect<void>) => void Effect.runForkWith(context)(effect)
      let targets = targetsOf(config)
      const memory = new Map<string, RecordMemory>()
      const pending = new Map<string, Job>()
      const inflight = new Set<string>()
      const work = Latch.makeUnsafe(false)
      let updated = 0
      let failed = 0
      let superseded = 0
      let retried = 0
      let dropped = 0
      let invalidAddresses = 0
      const logInvalid = throttledLog(60_000)
      const logDropped = throttledLog(60_000)

      // The workers are woken after the heartbeat's own work (a microtask): opening the latch there
      // would resume a waiting worker inside the heartbeat's call, and what one burst asks for
      // coalesces before the first is sent.
      let wakeQueued = false
      const wake = () => {
        wakeQueued = false
        Latch.openUnsafe(work)
      }
      const wakeSoon = () => {
        if (wakeQueued) return
        wakeQueued = true
        queueMicrotask(wake)
      }

      // Per resource, the address text (as sent) whose record is queued or written: a heartbeat
      // bringing the same text again returns after one comparison (reading an IPv6 address costs
      // microseconds). Forgotten when that record's update fails, and at a reload.
      const quiet = new Map<DyndnsSettings, string>()

      const observe = (client: string, resource: string, source: string | undefined, payload: unknown, nowMs: number) => {
        const settings = targets.get(client)?.get(resource)
        if (settings === undefined) return
        const given = payload !== null && typeof payload === "object" && "address" in payload ? (payload as { readonly address: unknown }).address : source
        if (typeof given === "string" && quiet.get(settings) === given) return
        const choice = addressOf(source, payload)
        if (choice.kind === "none") return
        if (choice.kind === "invalid") {
          invalidAddresses++
          log(logInvalid(Effect.logWarning("dynamic DNS: payload.address is not an IP address; no update", { client, resource: resource.slice(0, 120) })))
          return
        }
        const key = recordKey(client, resource, choice.type)
        const remembered = memory.get(key)
        if (!needsUpdate(remembered, choice.address, nowMs, options.retryFailedAfterMs)) {
          if (remembered!.outcome !== "failed") quiet.set(settings, given as string)
          return
        }
        if (enqueue({ key, client, resource, type: choice.type, address: choice.address }, nowMs)) quiet.set(settings, given as string)
      }

      /** Queues `job` (coalesced with its record's waiting one); false when the queue is full (dropped, counted), unless `forced`. */
      const enqueue = (job: Job, nowMs: number, forced = false): boolean => {
        const queued = pending.get(job.key)
        if (queued === undefined && pending.size >= options.maxPending && !forced) {
          dropped++
          log(logDropped(Effect.logWarning(`dynamic DNS: ${options.maxPending} updates wait already; this one is dropped (the next heartbeat asks again)`, { client: job.client, resource: job.resource.slice(0, 120) })))
          return false
        }
        if (queued !== undefined) superseded++
        // A key already queued keeps its place: the newer address goes out when its turn comes.
        pending.set(job.key, job)
        memory.set(job.key, { address: job.address, outcome: "queued", atMs: nowMs })
        wakeSoon()
        return true
      }

      const reregister = (client: string, resource: string, nowMs: number) => {
        if (targets.get(client)?.get(resource) === undefined) return "not_configured" as const
        let found = false
        for (const type of ["A", "AAAA"] as const) {
          const key = recordKey(client, resource, type)
          const remembered = memory.get(key)
          if (remembered === undefined) continue
          found = true
          enqueue({ key, client, resource, type, address: remembered.address }, nowMs, true)
        }
        return found ? "queued" as const : "no_address" as const
      }

      /** The oldest waiting job whose record is not being sent (never two updates of one record at once). */
      const takeNext = (): Job | undefined => {
        for (const [key, job] of pending) {
          if (inflight.has(key)) continue
          pending.delete(key)
          return job
        }
        return undefined
      }

      const settle = (job: Job, outcome: "updated" | "failed") =>
        Effect.map(currentMonotonicMillis, (nowMs) => {
          if (outcome === "failed") {
            const settings = targets.get(job.client)?.get(job.resource)
            if (settings !== undefined) quiet.delete(settings)
          }
          const remembered = memory.get(job.key)
          // A newer address asked for meanwhile stays what is remembered.
          if (remembered !== undefined && remembered.address === job.address) memory.set(job.key, { address: job.address, outcome, atMs: nowMs })
        })

      const send = (job: Job, settings: DyndnsSettings) => {
        let attempts = 0
        const attempt = Effect.suspend(() => {
          if (++attempts > 1) retried++
          return sendDnsUpdate(settings, settings.key!, job.address, job.type).pipe(
            Effect.timeoutOrElse({
              duration: options.attemptTimeoutMs,
              orElse: () => Effect.fail(new DnsUpdateError({ reason: `no answer within ${options.attemptTimeoutMs} ms`, retryable: true }))
            })
          )
        })
        const schedule = Schedule.min([Schedule.exponential(options.retryBaseMs, 2), Schedule.spaced(options.retryMaxMs)])
        const details = {
          client: job.client,
          resource: job.resource,
          name: settings.name,
          type: job.type,
          address: job.address,
          server: serverText(settings),
          ttl: settings.ttl
        }
        return attempt.pipe(
          Effect.retry({ schedule, times: options.retries, while: (error) => error.retryable && !pending.has(job.key) }),
          Effect.matchEffect({
            onSuccess: () =>
              Effect.gen(function*() {
                updated++
                yield* settle(job, "updated")
                history.record(job.client, job.resource, "dyndns", { result: "updated", ...details, attempts })
                yield* Effect.logInfo("dynamic DNS record updated", { ...details, attempts })
              }),
            onFailure: (error) =>
              Effect.gen(function*() {
                if (pending.has(job.key)) {
                  superseded++
                  return
                }
                failed++
                yield* settle(job, "failed")
                history.record(job.client, job.resource, "dyndns", { result: "failed", ...details, attempts, reason: error.reason })
                yield* Effect.logWarning("dynamic DNS update failed", { ...details, attempts, reason: error.reason })
              })
          })
        )
      }

      const worker = Effect.gen(function*() {
        while (true) {
          const job = takeNext()
          if (job === undefined) {
            Latch.closeUnsafe(work)
            yield* work.await
            continue
          }
          // The settings in force now: a reload may have changed or removed them since.
          const settings = targets.get(job.client)?.get(job.resource)
          if (settings === undefined) continue
          inflight.add(job.key)
          yield* send(job, settings).pipe(
            Effect.ensuring(Effect.sync(() => {
              inflight.delete(job.key)
              if (pending.size > 0) Latch.openUnsafe(work)
            }))
          )
        }
      })
      for (let index = 0; index < options.workers; index++) yield* Effect.forkScoped(worker)

      /**
       * What the history says this receiver last wrote, so a restart does not write unchanged
       * records again: per record the newest `dyndns` entry among the resource's newest 100, if it
       * was written to the same name, server and TTL. Read at start, before any heartbeat (one
       * query per resource with `dyndns:`).
       */
      const restore = Effect.gen(function*() {
        const nowMs = yield* currentMonotonicMillis
        for (const [client, perClient] of targets) {
          for (const [resource, settings] of perClient) {
            const page = yield* Effect.result(history.resourceHistory({ client, resource, sinceMs: undefined, untilMs: undefined, before: undefined, limit: 100 }))
            if (page._tag === "Failure") continue
            const seen = new Set<string>()
            for (const row of page.success.items) {
              const detail = row.detail as Readonly<Record<string, unknown>> | undefined
              const type = detail?.["type"]
              if (row.kind !== "dyndns" || (type !== "A" && type !== "AAAA") || seen.has(type)) continue
              seen.add(type)
              const key = recordKey(client, resource, type)
              if (
                detail!["result"] === "updated" && typeof detail!["address"] === "string" && detail!["name"] === settings.name &&
                detail!["server"] === serverText(settings) && detail!["ttl"] === settings.ttl && !memory.has(key)
              ) memory.set(key, { address: detail!["address"], outcome: "updated", atMs: nowMs })
            }
          }
        }
      })
      yield* restore

      yield* liveCounter("dyndns_updates_total", "Dynamic DNS updates, by result (ok; failed after retries; superseded by a newer address)", () => updated, { result: "ok" })
      yield* liveCounter("dyndns_updates_total", "Dynamic DNS updates, by result (ok; failed after retries; superseded by a newer address)", () => failed, { result: "failed" })
      yield* liveCounter("dyndns_updates_total", "Dynamic DNS updates, by result (ok; failed after retries; superseded by a newer address)", () => superseded, { result: "superseded" })
      yield* liveCounter("dyndns_update_retries_total", "Dynamic DNS update attempts after a failed one", () => retried)
      yield* liveCounter("dyndns_updates_dropped_total", `Dynamic DNS updates dropped: ${options.maxPending} were waiting`, () => dropped)
      yield* liveCounter("dyndns_invalid_addresses_total", "Heartbeats whose payload.address is not an IP address (no update)", () => invalidAddresses)
      yield* liveGauge("dyndns_pending", "Dynamic DNS updates waiting to be sent", () => pending.size)

      return DynDns.of({
        observe,
        reregister,
        applyConfig: (next) => {
          const before = targets
          targets = targetsOf(next)
          quiet.clear()
          for (const key of [...memory.keys()]) {
            const [client, resource] = key.split("\u0000") as [string, string]
            const was = before.get(client)?.get(resource)
            const now = targets.get(client)?.get(resource)
            if (was === undefined || now === undefined || !sameTarget(was, now)) memory.delete(key)
          }
        },
        counters: () => ({ updated, failed, superseded, retried, dropped, invalidAddresses, pending: pending.size })
      })
    })
  )
