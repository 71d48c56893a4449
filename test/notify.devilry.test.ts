import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Notification } from "../src/domain/Notification.ts"
import { layerNotifyDevilry, Notifier } from "../src/notify/Notifier.ts"
import { alive } from "./support/processes.ts"

const notification: Notification = {
  severity: "major",
  event: "heartbeat_mesh_heartbeat_timeout",
  text: "Heartbeat from h (client C) timed out",
  resource: "h",
  service: "heartbeat",
  group: "h",
  value: 125,
  origin: "heartbeat_mesh/receiver.py",
  client: "C",
  correlate: ["heartbeat_mesh_heartbeat_ok"],
  attributes: { receiver: "rx", timeout: 60 }
}

const dir = mkdtempSync(join(tmpdir(), "hbm-notify-"))
const script = (name: string, body: string) => {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

const recorder = script("record.sh", `cat > "${dir}/stdin.json"; echo "$@" > "${dir}/args.txt"`)
const failing = script("fail.sh", `cat > /dev/null; echo "alerta said no" >&2; exit 3`)
const hanging = script("hang.sh", `sleep 30`)

const sendWith = (command: string, options: { forceSend?: boolean; timeoutMs?: number } = {}) =>
  Notifier.use((notifier) => notifier.send(notification)).pipe(
    Effect.provide(
      layerNotifyDevilry({ command, forceSend: options.forceSend ?? false, timeoutMs: options.timeoutMs ?? 5000 }).pipe(
        Layer.provide(NodeServices.layer)
      )
    )
  )

describe("notify_devilry notifier (real child processes)", () => {
  it.live("writes the notification as JSON on stdin and closes it", () =>
    Effect.gen(function*() {
      yield* sendWith(recorder)
      assert.deepStrictEqual(JSON.parse(readFileSync(join(dir, "stdin.json"), "utf8")), notification)
      assert.strictEqual(readFileSync(join(dir, "args.txt"), "utf8"), "\n")
    }))

  it.live("passes --force-send through when asked", () =>
    Effect.gen(function*() {
      yield* sendWith(recorder, { forceSend: true })
      assert.strictEqual(readFileSync(join(dir, "args.txt"), "utf8"), "--force-send\n")
    }))

  it.live("a non-zero exit is a NotifierError with the status and the command's output", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(sendWith(failing))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(sendWith(failing))
      assert.strictEqual(error.reason, `${failing} exited with status 3: alerta said no`)
    }))

  it.live("a missing command is a NotifierError, not a crash", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(sendWith(join(dir, "does-not-exist.py")))
      assert.match(error.reason, /^cannot run .*does-not-exist\.py: /)
    }))

  it.live("a hanging command is killed after the time limit", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(sendWith(hanging, { timeoutMs: 300 }))
      assert.strictEqual(error.reason, `${hanging} did not finish within 300 ms; killed`)
    }))
})

describe("notify_devilry process group (issue 13.7)", () => {
  it.live("a run past its time limit is killed with its whole group: a grandchild cannot deliver the alert later", () =>
    Effect.gen(function*() {
      const late = join(dir, "late.txt")
      const pidFile = join(dir, "grandchild.pid")
      // The stand-in hands the alert to a background grandchild that would deliver it 2 s later,
      // then hangs itself.
      const forking = script(
        "fork.sh",
        `cat > /dev/null\nsh -c 'echo $$ > "${pidFile}"; sleep 2; echo duplicate >> "${late}"' &\nsleep 30`
      )
      const error = yield* Effect.flip(sendWith(forking, { timeoutMs: 500 }))
      assert.strictEqual(error.reason, `${forking} did not finish within 500 ms; killed`)
      const grandchild = Number(readFileSync(pidFile, "utf8").trim())
      assert.isTrue(grandchild > 0)
      assert.isFalse(alive(grandchild))
      assert.isFalse(existsSync(late))
    }))
})
