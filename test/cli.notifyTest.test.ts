import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { makeWorkspace, runCli } from "./support/daemonProcess.ts"
import { httpRecorder } from "./support/httpRecorder.ts"

const closing: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closing.splice(0)) await close()
})

describe("heartbeat-mesh notify-test", () => {
  it("sends one test notification through the named channel and says so; the secret stays out of the output", async () => {
    const hook = await httpRecorder()
    closing.push(hook.close)
    const workspace = makeWorkspace(`
enabled: true
receiver_name: rx-test
clients:
  C: { token: aaaaaaaa, timeout: 1 }
channels:
  hook: { type: webhook, url: "${hook.url}/hook", headers: { X-Key: { env: HBM_TEST_HOOK_KEY } } }
  other: { type: stdout }
`)
    const result = await runCli(["notify-test", "--channel", "hook", "--config", workspace.configPath], { HBM_TEST_HOOK_KEY: "hook-secret-42" })
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/^test notification notify-test-[0-9a-z]+ delivered through channel hook \(webhook\) in \d+ ms, 1 attempt\n$/)
    expect(hook.requests).toHaveLength(1)
    expect(hook.requests[0]!.headers["x-key"]).toBe("hook-secret-42")
    const body = JSON.parse(hook.requests[0]!.body) as Record<string, unknown>
    expect(body).toMatchObject({ event: "heartbeat_mesh_receiver_activity_ok", severity: "informational", resource: "rx-test", value: "test" })
    expect(result.stdout + result.stderr).not.toContain("hook-secret-42")
  })

  it("fails with status 1 naming the channel and the reason when the server refuses", async () => {
    const hook = await httpRecorder((_, response) => {
      response.writeHead(500)
      response.end("down for maintenance")
    })
    closing.push(hook.close)
    const workspace = makeWorkspace(`
enabled: true
clients:
  C: { token: aaaaaaaa, timeout: 1 }
channels:
  hook: { type: webhook, url: "${hook.url}/hook", retries: 1, retry_delay: 0.05 }
`)
    const result = await runCli(["notify-test", "--channel", "hook", "--config", workspace.configPath])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      `test notification not delivered through channel hook (webhook) after 2 attempts: 127.0.0.1:${new URL(hook.url).port} answered HTTP 500: down for maintenance`
    )
    expect(hook.requests).toHaveLength(2)
  })

  it("an unknown channel name lists the configured ones", async () => {
    const workspace = makeWorkspace(`
enabled: true
clients:
  C: { token: aaaaaaaa, timeout: 1 }
channels:
  a: { type: stdout }
  b: { type: stdout }
`)
    writeFileSync(join(workspace.dir, "unused"), "")
    const result = await runCli(["notify-test", "--channel", "nope", "--config", workspace.configPath])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`no channel named nope in ${workspace.configPath} (channels: a, b)`)
  })
})
