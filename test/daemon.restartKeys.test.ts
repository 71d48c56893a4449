import { describe, expect, it } from "vitest"
import { changesNeedingRestart } from "../src/daemon/restartKeys.ts"
import { configFrom } from "./support/receiverHarness.ts"

// A password hash line as `heartbeat-mesh passwd` prints it.
const hash = "$scrypt$ln=15,r=8,p=1$UPZAbiJpowuy3Y3JMACGxQ$EEZK/tuC36mSz+TEwVd0LcrdeYMgEwcOGZSwVbwEHxA"

const base = `
enabled: true
check_interval: 60
http:
  listen: "127.0.0.1:50004"
  admin_token: first-secret
clients:
  A:
    token: aaaaaaaa
    timeout: 1
`

describe("a reload names every changed setting that needs a restart (issue 13.3)", () => {
  const running = configFrom(base)
  const cases: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
    ["nothing changed", base, []],
    ["clients, resources, timeouts and severities are live", base.replace("timeout: 1", "timeout: 5\n    severity: minor\n    resources: {x: {}}") + "  B:\n    token: bbbbbbbb\n    timeout: 2\n", []],
    ["timing", base.replace("check_interval: 60", "check_interval: 30\ngrace_period: 5\nremoved_client_retention: 3600"), [
      "check_interval: 60 -> 30",
      "grace_period: 70 -> 5",
      "removed_client_retention: 604800 -> 3600"
    ]],
    ["identity and notifier", base + "receiver_name: rx2\norigin: me\nnotify_devilry_sleep: 3\nqueue_threshold: 5\n", [
      "receiver_name: receiver.test -> rx2",
      "origin: heartbeat_mesh/receiver.py -> me",
      "notify_devilry_sleep: 1 -> 3",
      "queue_threshold: 1000 -> 5"
    ]],
    ["http: the listen address shown, a token never", base.replace("50004", "50005").replace("first-secret", "second-secret"), [
      "http.listen: 127.0.0.1:50004 -> 127.0.0.1:50005",
      "http.admin_token: changed"
    ]],
    ["users are live (issue 18.3)", base + `users:\n  vera: { role: viewer, password: "${hash}" }\n`, []],
    ["notification routes and mute windows are live; channels are not", base + `channels:
  hook: { type: webhook, url: "https://hooks.example.com/x" }
routes:
  - channels: [hook]
mute:
  - { name: night, cron: "0 22 * * *", duration: 8h }
`, ["channels: changed"]],
    ["http removed", base.slice(0, base.indexOf("http:")) + base.slice(base.indexOf("clients:")), [
      "http: present -> absent",
      "http.listen: 127.0.0.1:50004 -> unset",
      "http.admin_token: changed"
    ]]
  ]
  for (const [what, next, expected] of cases) {
    it(what, () => {
      const changes = changesNeedingRestart(running, configFrom(next))
      expect(changes).toEqual(expected)
      expect(changes.join(" ")).not.toContain("secret")
    })
  }
})

