import { afterEach, describe, expect, it } from "vitest"
import type { RecordedRequest } from "./support/httpRecorder.ts"
import { SMTPServer } from "smtp-server"
import { httpRecorder } from "./support/httpRecorder.ts"
import { makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"

const running: Array<{ stop: () => Promise<unknown> }> = []
afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop()
})

const idOf = (request: RecordedRequest) => (JSON.parse(request.body) as { id: string }).id
const eventOf = (request: RecordedRequest) => (JSON.parse(request.body) as { event: string; resource: string })

describe("channels in a real daemon", () => {
  it("an undelivered state change survives a restart (SIGTERM) and goes out after it, under the same id", async () => {
    let healthy = false
    const hook = await httpRecorder((_, response) => {
      response.writeHead(healthy ? 200 : 503)
      response.end()
    })
    running.push({ stop: hook.close })
    const workspace = makeWorkspace(`
enabled: true
grace_period: 0
receiver_name: rx-restart
clients:
  C:
    token: aaaaaaaa
    timeout: 60
channels:
  hook: { type: webhook, url: "${hook.url}/", retries: 1, retry_delay: 0.05 }
`)
    let daemon: RunningDaemon = await startDaemon(workspace)
    running.push(daemon)
    const sender = pushTo(daemon.port)
    await sender.heartbeat("aaaaaaaa", "web1.example.com")
    // Attempt and one retry, both refused: the new is given up for this run, kept in state.db.
    const failed = await hook.received(2)
    expect(failed.map((request) => eventOf(request).event)).toEqual([
      "heartbeat_mesh_heartbeat_new",
      "heartbeat_mesh_heartbeat_new"
    ])
    const id = idOf(failed[0]!)
    await waitFor("the failure to be logged", () => daemon.stderr().includes("not delivered through channel hook") || undefined)
    sender.close()
    expect(await daemon.stop()).toBe(0)

    healthy = true
    daemon = await startDaemon(workspace)
    running.push(daemon)
    const all = await hook.received(3)
    expect(eventOf(all[2]!)).toMatchObject({ event: "heartbeat_mesh_heartbeat_new", resource: "web1.example.com" })
    expect(idOf(all[2]!)).toBe(id)
    await waitFor("the redelivery to be logged", () => daemon.stderr().includes("queued again") || undefined)
  })

  it("e-mail too: a message the SMTP server refused goes out after a restart, with the same Message-ID", async () => {
    let accepting = false
    const seen: Array<{ accepted: boolean; messageId: string }> = []
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      closeTimeout: 200,
      onData: (stream, _session, callback) => {
        let data = ""
        stream.setEncoding("utf8")
        stream.on("data", (chunk) => (data += chunk))
        stream.on("end", () => {
          seen.push({ accepted: accepting, messageId: /^Message-ID: (.*)$/mi.exec(data)?.[1]?.trim() ?? "" })
          callback(accepting ? null : Object.assign(new Error("mailbox busy"), { responseCode: 451 }))
        })
      }
    })
    await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve))
    running.push({ stop: () => new Promise<void>((resolve) => smtp.close(() => resolve())) })
    const port = (smtp.server.address() as { port: number }).port
    const workspace = makeWorkspace(`
enabled: true
grace_period: 0
clients:
  C:
    token: aaaaaaaa
    timeout: 60
channels:
  mail:
    type: email
    smtp: { host: 127.0.0.1, port: ${port}, starttls: false }
    from: hb@example.com
    to: ops@example.com
    retries: 1
    retry_delay: 0.05
`)
    let daemon: RunningDaemon = await startDaemon(workspace)
    running.push(daemon)
    const sender = pushTo(daemon.port)
    await sender.heartbeat("aaaaaaaa", "mail1.example.com")
    await waitFor("two refused attempts", () => seen.length >= 2 || undefined)
    await waitFor("the failure to be logged", () => daemon.stderr().includes("not delivered through channel mail") || undefined)
    sender.close()
    expect(await daemon.stop()).toBe(0)
    expect(seen.map((s) => s.accepted)).toEqual([false, false])
    expect(seen[0]!.messageId).toBe(seen[1]!.messageId)

    accepting = true
    daemon = await startDaemon(workspace)
    running.push(daemon)
    const delivered = await waitFor("the message after the restart", () => seen.find((s) => s.accepted))
    expect(delivered.messageId).toBe(seen[0]!.messageId)
  })

  it("notify_devilry keeps working from the legacy keys when no channels are configured", async () => {
    const workspace = makeWorkspace(`
enabled: true
grace_period: 0
notify_devilry_sleep: 0
clients:
  C:
    token: aaaaaaaa
    timeout: 60
`)
    const daemon = await startDaemon(workspace)
    running.push(daemon)
    const sender = pushTo(daemon.port)
    await sender.heartbeat("aaaaaaaa", "legacy.example.com")
    const fresh = await waitFor("new", () =>
      workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_new"))
    expect(fresh.resource).toBe("legacy.example.com")
    sender.close()
  })
})
