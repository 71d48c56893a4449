import { afterAll, describe, expect, it } from "vitest"
import { Effect, Layer, ManagedRuntime } from "effect"
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ResourceChanges } from "../src/changes/ResourceChanges.ts"
import { loadReceiverConfig, type ReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { defaultDynDnsOptions, DynDns, type DynDnsOptions, layerDynDns } from "../src/dyndns/DynDns.ts"
import { defaultHistoryOptions, History, layerHistory } from "../src/history/History.ts"
import { layerMemoryHistoryStore } from "../src/history/HistoryStore.ts"
import { layerNotificationJournal } from "../src/notify/NotificationJournal.ts"
import { waitFor } from "./support/daemonProcess.ts"
import { queryAddresses, startDnsUpdateServer } from "./support/dnsServer.ts"

const zone = "dyn.example.test"
const key = { name: "hbm-update", algorithm: "hmac-sha256" as const, secretBase64: "q1Zz4DaT3YqJ0p7gq6cC8qQb4bYI0l8mGfJXx4rO2Q8=" }

// Test code reads history details loosely.
type Json = any

/** A receiver.yaml with resources r1, r2 updating r1./r2.<zone> on `port`, loaded as the daemon loads it (key file read). */
const configFor = async (port: number, ttl = 60): Promise<ReceiverConfig> => {
  const dir = mkdtempSync(join(tmpdir(), "hbm-dyndns-"))
  const keyFile = join(dir, "update.key")
  writeFileSync(keyFile, `key "${key.name}" { algorithm hmac-sha256; secret "${key.secretBase64}"; };\n`)
  chmodSync(keyFile, 0o600)
  const dyndns = (name: string) => `{ zone: ${zone}, name: ${name}.${zone}, server: "127.0.0.1:${port}", tsig_key_file: ${keyFile}, ttl: ${ttl} }`
  const path = join(dir, "receiver.yaml")
  writeFileSync(path, `enabled: true\nclients:\n  C:\n    token: cccccccc\n    timeout: 1\n    resources:\n      r1: { dyndns: ${dyndns("r1")} }\n      r2: { dyndns: ${dyndns("r2")} }\n`)
  return Effect.runPromise(loadReceiverConfig(path))
}

/** The updater with an in-memory history, on the real clock and real sockets. */
const updater = (config: ReceiverConfig, options: Partial<DynDnsOptions>) =>
  ManagedRuntime.make(
    layerDynDns(config, { ...defaultDynDnsOptions, ...options }).pipe(
      Layer.provideMerge(layerHistory({ retentionMs: 86_400_000, repeats: false }, defaultHistoryOptions).pipe(Layer.provide(layerMemoryHistoryStore()))),
      Layer.provide(Layer.merge(ResourceChanges.layer, layerNotificationJournal()))
    )
  )

describe("the dynamic DNS updater: queue, coalescing, retries (real UDP, a DNS server fixture)", () => {
  const runtimes: Array<{ dispose: () => Promise<void> }> = []
  const servers: Array<{ close: () => Promise<void> }> = []
  afterAll(async () => {
    for (const runtime of runtimes) await runtime.dispose()
    for (const server of servers) await server.close()
  })
  const start = async (dns: { dropFirst?: number } = {}, options: Partial<DynDnsOptions> = {}) => {
    const server = await startDnsUpdateServer({ zone, key, ...dns })
    servers.push(server)
    const config = await configFor(server.port)
    const runtime = updater(config, options)
    runtimes.push(runtime)
    const service = await runtime.runPromise(Effect.gen(function*() {
      return yield* DynDns
    }))
    const history = async (resource: string): Promise<Array<Json>> => {
      const page = await runtime.runPromise(Effect.gen(function*() {
        return yield* (yield* History).resourceHistory({ client: "C", resource, sinceMs: undefined, untilMs: undefined, before: undefined, limit: 100 })
      }))
      return page.items.map((row) => row.detail)
    }
    return { server, service, history, config }
  }
  /** Moments on the receiver's timeline (monotonicTime.ts: the wall clock's scale), the way the router passes them. */
  const tick = () => Date.now()

  it("retries an update that got no answer (exponential, capped) until the server answers", async () => {
    const { server, service, history } = await start({ dropFirst: 2 }, { attemptTimeoutMs: 300, retryBaseMs: 10, retryMaxMs: 20 })
    service.observe("C", "r1", "192.0.2.10", undefined, tick())
    await waitFor("the update", () => service.counters().updated === 1 ? true : undefined)
    expect(server.dropped()).toBe(2)
    expect(service.counters()).toMatchObject({ updated: 1, failed: 0, retried: 2, pending: 0 })
    expect(await queryAddresses("127.0.0.1", server.port, `r1.${zone}`, "A")).toEqual(["192.0.2.10"])
    expect((await history("r1")).map((detail) => `${detail.result} ${detail.address} ${detail.attempts}`)).toEqual(["updated 192.0.2.10 3"])
  })

  it("gives up after the retries (history: failed, with why), asks again only after retryFailedAfterMs", async () => {
    const { server, service, history } = await start({ dropFirst: 1_000 }, { attemptTimeoutMs: 100, retries: 2, retryBaseMs: 10, retryMaxMs: 10, retryFailedAfterMs: 60_000 })
    service.observe("C", "r1", "192.0.2.20", undefined, tick())
    await waitFor("the failure", () => service.counters().failed === 1 ? true : undefined)
    // The receiver's timeline is the monotonic clock on the wall clock's scale: the failure was settled before this.
    const failedAt = Date.now()
    expect(server.dropped()).toBe(3)
    expect((await history("r1")).map((detail) => `${detail.result} ${detail.attempts} ${detail.reason}`)).toEqual(["failed 3 no answer within 100 ms"])
    // The same address soon after: not asked again. A minute later: asked again.
    service.observe("C", "r1", "192.0.2.20", undefined, failedAt + 50_000)
    expect(service.counters().pending).toBe(0)
    service.observe("C", "r1", "192.0.2.20", undefined, failedAt + 70_000)
    await waitFor("the update sent again", () => server.dropped() === 4 ? true : undefined)
  })

  it("coalesces per record (the newest address wins), bounds the queue (dropped, asked again later)", async () => {
    const { server, service } = await start({}, { maxPending: 1, workers: 1 })
    // Synchronously, before the worker runs: the second address replaces the first in the queue.
    service.observe("C", "r1", "192.0.2.30", undefined, tick())
    service.observe("C", "r1", "192.0.2.31", undefined, tick())
    // The queue holds one record: r2 is dropped.
    service.observe("C", "r2", "192.0.2.40", undefined, tick())
    expect(service.counters()).toMatchObject({ pending: 1, superseded: 1, dropped: 1 })
    await waitFor("r1's update", () => service.counters().updated === 1 ? true : undefined)
    expect(server.updates.map((update) => update.changes.find((change) => change.op === "add")?.data)).toEqual(["192.0.2.31"])
    // A dropped record was not remembered: r2's next heartbeat asks again.
    service.observe("C", "r2", "192.0.2.40", undefined, tick())
    await waitFor("r2's update", () => service.counters().updated === 2 ? true : undefined)
    expect(await queryAddresses("127.0.0.1", server.port, `r2.${zone}`, "A")).toEqual(["192.0.2.40"])
    // Unknown resources and clients cost nothing and change nothing.
    service.observe("C", "r3", "192.0.2.50", undefined, tick())
    service.observe("D", "r1", "192.0.2.50", undefined, tick())
    expect(service.counters().pending).toBe(0)
  })

  it("a reload that changes a record's settings writes it again at the next heartbeat; an unchanged one does not", async () => {
    const { server, service } = await start()
    service.observe("C", "r1", "192.0.2.60", undefined, tick())
    service.observe("C", "r2", "192.0.2.61", undefined, tick())
    await waitFor("both updates", () => service.counters().updated === 2 ? true : undefined)
    const reloaded = await configFor(server.port, 300)
    // r1's TTL changes; r2 is no longer updated.
    service.applyConfig({
      ...reloaded,
      clients: reloaded.clients.map((client) => ({ ...client, resources: new Map([...client.resources].filter(([name]) => name === "r1")) }))
    })
    service.observe("C", "r1", "192.0.2.60", undefined, tick())
    service.observe("C", "r2", "192.0.2.99", undefined, tick())
    await waitFor("r1 written again", () => service.counters().updated === 3 ? true : undefined)
    expect(server.updates.at(-1)!.changes.find((change) => change.op === "add")).toEqual({ op: "add", name: `r1.${zone}`, type: "A", ttl: 300, data: "192.0.2.60" })
    service.observe("C", "r1", "192.0.2.60", undefined, tick())
    expect(service.counters()).toMatchObject({ pending: 0, updated: 3 })
    expect(await queryAddresses("127.0.0.1", server.port, `r2.${zone}`, "A")).toEqual(["192.0.2.61"])
  })
})
