import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, expect, it as plainIt } from "vitest"
import type { Notification } from "../src/domain/Notification.ts"
import { makeNotifyDevilryTransport } from "../src/notify/Notifier.ts"
import { Outbox } from "../src/notify/Outbox.ts"
import { enqueue, timeoutNotification, withChannels } from "./support/channelHarness.ts"
import { freePort, makeWorkspace, pushTo, waitForAsync, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"
import { alive } from "./support/processes.ts"

const notification: Notification = timeoutNotification
const dir = mkdtempSync(join(tmpdir(), "hbm-spawn-helpers-"))
let scripts = 0

/** Live spawn helper processes whose parent is `parent` (read from /proc, as an operator would). */
const helpersOf = (parent: number): Array<number> =>
  readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1])
      return ppid === parent && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("spawnHelper.ts") && alive(pid)
    } catch {
      return false
    }
  })

/**
 * A notify_devilry stand-in behind a gate: each run writes its pid to `<n>.pid` (n counts the runs),
 * waits for `<n>.go` (only runs whose number is listed in `gated`), then appends its stdin to
 * delivered.jsonl.
 */
const gatedStandIn = (gated: ReadonlyArray<number>) => {
  const folder = join(dir, `gate-${scripts++}`)
  const path = `${folder}.sh`
  writeFileSync(path, `#!/bin/sh
mkdir -p "${folder}"
n=$(ls "${folder}" | grep -c '\\.pid$'); n=$((n + 1))
echo $$ > "${folder}/$n.pid"
case " ${gated.join(" ")} " in *" $n "*) while [ ! -e "${folder}/$n.go" ]; do sleep 0.02; done ;; esac
line=$(cat)
printf '%s\\n' "$line" >> "${folder}/delivered.jsonl"
`)
  chmodSync(path, 0o755)
  const pidOf = (n: number) => {
    const file = join(folder, `${n}.pid`)
    return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : undefined
  }
  return {
    path,
    pidOf,
    open: (n: number) => writeFileSync(join(folder, `${n}.go`), ""),
    delivered: (): Array<Notification> => {
      const file = join(folder, "delivered.jsonl")
      return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)) : []
    }
  }
}

const until = <A>(what: string, check: () => A | undefined) => Effect.promise(() => waitFor(what, check))

const transport = (command: string, helpers: number) =>
  makeNotifyDevilryTransport({ command, forceSend: false, timeoutMs: 10_000, helpers })

describe("notify_devilry spawn helpers (real helper processes, real child processes)", () => {
  it.live("runs that overlap start a second helper, up to the limit; the helpers are reused, and end with the receiver", () =>
    Effect.gen(function*() {
      const gate = gatedStandIn([1, 2])
      const scope = yield* Scope.make()
      const devilry = yield* transport(gate.path, 2).pipe(Scope.provide(scope))
      assert.deepStrictEqual(helpersOf(process.pid), [], "no helper before the first notification")
      const first = yield* Effect.forkChild(devilry.send(notification))
      yield* until("the first run", () => gate.pidOf(1))
      // The busy helper takes the second run at once; a second helper starts for the runs after it.
      const second = yield* Effect.forkChild(devilry.send(notification))
      yield* until("the second run", () => gate.pidOf(2))
      const helpers = yield* until("the second helper", () => {
        const pids = devilry.helperPids()
        return pids.length === 2 ? pids : undefined
      })
      assert.deepStrictEqual([...helpersOf(process.pid)].sort(), [...helpers].sort())
      gate.open(1)
      gate.open(2)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      // Sequential runs after that: no third helper.
      yield* devilry.send(notification)
      yield* devilry.send(notification)
      assert.deepStrictEqual(devilry.helperPids(), helpers)
      assert.strictEqual(gate.delivered().length, 4)
      assert.deepStrictEqual(gate.delivered()[0], notification)
      yield* Scope.close(scope, Exit.void)
      for (const pid of helpers) assert.isFalse(alive(pid), `helper ${pid} ended with its scope`)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a helper that dies mid-run: the run fails, its process group is killed, and the helper is started again", () =>
    Effect.gen(function*() {
      const gate = gatedStandIn([1])
      const devilry = yield* transport(gate.path, 1)
      const running = yield* Effect.forkChild(Effect.flip(devilry.send(notification)))
      const run = yield* until("the run", () => gate.pidOf(1))
      const [helper] = devilry.helperPids()
      process.kill(helper!, "SIGKILL")
      const error = yield* Fiber.join(running)
      assert.match(error.reason, new RegExp(`^the notify_devilry helper \\(pid ${helper}\\) was killed by SIGKILL; the run was cut short$`))
      assert.isFalse(alive(run), "the cut-short run was killed with its group")
      gate.open(1)
      // Sent at once: it waits for the helper to be started again (after the restart policy's delay).
      yield* devilry.send(notification)
      const [restarted] = devilry.helperPids()
      assert.notStrictEqual(restarted, helper)
      assert.isTrue(alive(restarted!))
      assert.deepStrictEqual(gate.delivered(), [notification])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.live("a notification larger than a helper takes is refused with its size, and the helper keeps serving", () =>
    Effect.gen(function*() {
      const gate = gatedStandIn([])
      const devilry = yield* transport(gate.path, 1)
      const error = yield* Effect.flip(devilry.send({ ...notification, text: "x".repeat(1024 * 1024) }))
      assert.match(error.reason, /^the notification is too large for the notify_devilry helper \(\d+ characters, at most 1048576\)$/)
      yield* devilry.send(notification)
      assert.deepStrictEqual(gate.delivered(), [notification])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.live("through the outbox: a notification in flight when its helper dies is retried and delivered once", () =>
    Effect.gen(function*() {
      const gate = gatedStandIn([1])
      yield* Effect.gen(function*() {
        yield* enqueue(notification)
        const run = yield* until("the first attempt", () => gate.pidOf(1))
        const [helper] = helpersOf(process.pid)
        process.kill(helper!, "SIGKILL")
        yield* Outbox.use((outbox) => outbox.drained)
        const counters = yield* Outbox.use((outbox) => Effect.sync(() => outbox.counters()))
        assert.strictEqual(counters.sent, 1)
        assert.strictEqual(counters.failed, 0)
        assert.isFalse(alive(run))
        gate.open(1)
        assert.deepStrictEqual(gate.delivered(), [notification], "delivered once: the cut-short run never finished")
      }).pipe(Effect.provide(withChannels(`
channels:
  d: { type: notify_devilry, command: ${gate.path}, pacing: 0, retries: 20, retry_delay: 0.05, retry_max_delay: 0.5 }
`)))
    }))
})

const running: Array<RunningDaemon> = []
afterEach(async () => {
  for (const daemon of running.splice(0)) await daemon.stop("SIGKILL")
})

/** A series' value from Prometheus text, by metric name and one label. */
const series = (metrics: string, name: string, label: string) =>
  metrics.split("\n").filter((line) => line.startsWith(`${name}{`) && line.includes(label)).map((line) => Number(line.split(" ").at(-1)))

describe("spawn helpers of a real receiver", () => {
  plainIt("/metrics shows the helpers running and the ones started again after dying", async () => {
    const gate = gatedStandIn([])
    const httpPort = await freePort()
    const workspace = makeWorkspace(`
enabled: true
grace_period: 0
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  C:
    token: aaaaaaaa
    timeout: 60
channels:
  d: { type: notify_devilry, command: ${gate.path}, retry_delay: 0.05 }
`)
    const daemon = await startDaemon(workspace, ["--no-heartbeat-files"])
    running.push(daemon)
    const metrics = () => fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text())
    expect(series(await metrics(), "heartbeat_mesh_notify_devilry_helpers", `channel="d"`)).toEqual([0])
    const sender = pushTo(daemon.port)
    await sender.heartbeat("aaaaaaaa", "web1.example.com")
    await waitFor("the first delivery", () => (gate.delivered().length === 1 ? true : undefined))
    const [helper] = helpersOf(daemon.process.pid!)
    expect(series(await metrics(), "heartbeat_mesh_notify_devilry_helpers", `channel="d"`)).toEqual([1])
    process.kill(helper!, "SIGKILL")
    await waitForAsync("the helper started again", async () => {
      const text = await metrics()
      const restarts = series(text, "heartbeat_mesh_notify_devilry_helper_restarts_total", `channel="d"`)
      return restarts[0] === 1 ? text : undefined
    })
    const [again] = helpersOf(daemon.process.pid!)
    expect(again).not.toBe(helper)
    expect(series(await metrics(), "heartbeat_mesh_notify_devilry_helpers", `channel="d"`)).toEqual([1])
    await sender.heartbeat("aaaaaaaa", "web2.example.com")
    await waitFor("the second delivery", () => (gate.delivered().length === 2 ? true : undefined))
    expect(helpersOf(daemon.process.pid!)).toEqual([again])
    expect(gate.delivered().map((n) => n.resource)).toEqual(["web1.example.com", "web2.example.com"])
    sender.close()
  })


  plainIt("a receiver killed with SIGKILL takes its helpers and their runs with it", async () => {
    const gate = gatedStandIn([1])
    const workspace = makeWorkspace(`
enabled: true
grace_period: 0
notify_devilry_sleep: 0
clients:
  C:
    token: aaaaaaaa
    timeout: 60
channels:
  d: { type: notify_devilry, command: ${gate.path} }
`)
    const daemon = await startDaemon(workspace)
    running.push(daemon)
    const sender = pushTo(daemon.port)
    await sender.heartbeat("aaaaaaaa", "web1.example.com")
    const run = await waitFor("the run", () => gate.pidOf(1))
    const helpers = helpersOf(daemon.process.pid!)
    expect(helpers).toHaveLength(1)
    await daemon.stop("SIGKILL")
    // The helper sees its input end, kills the run's process group and exits.
    await waitFor("the helper to exit", () => (alive(helpers[0]!) ? undefined : true))
    await waitFor("the run to be killed", () => (alive(run) ? undefined : true))
    gate.open(1)
    expect(gate.delivered()).toEqual([])
    sender.close()
  })
})
