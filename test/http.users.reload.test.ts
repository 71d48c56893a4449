import { writeFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, makeWorkspace, type RunningDaemon, startDaemon, waitForAsync } from "./support/daemonProcess.ts"
import { hashPassword, tokenDigest } from "../src/support/passwordHash.ts"

// users: follows a reload (issue 18.3): added users can act at once, removed users' tokens and
// sessions stop working, a changed role applies to the next request.

const veraToken = "hmt_vera-token-00000000000000000000000000"
const ottoToken = "hmt_otto-token-00000000000000000000000000"

describe("users: in a reload (real daemon, SIGHUP)", () => {
  let daemon: RunningDaemon
  let base: string
  let configPath: string
  let configWith: (users: string) => string
  const get = (path: string, token: string) => fetch(base + path, { headers: { authorization: `Bearer ${token}` } })
  const post = (path: string, token: string) => fetch(base + path, { method: "POST", headers: { authorization: `Bearer ${token}` } })

  beforeAll(async () => {
    const httpPort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    configWith = (users: string) => `
enabled: true
notify_devilry_sleep: 0
clients:
  Client1:
    token: t-one
    timeout: 60
    resources: { a1.example.com: {} }
http:
  listen: "127.0.0.1:${httpPort}"
users:
${users}`
    const workspace = makeWorkspace(configWith(
      `  vera: { role: viewer, clients: [Client1], password: "${await hashPassword("vera's password")}", api_tokens: ["${tokenDigest(veraToken)}"] }\n`
    ))
    configPath = workspace.configPath
    daemon = await startDaemon(workspace)
  })

  afterAll(async () => {
    await daemon?.stop("SIGKILL")
  })

  /** Writes receiver.yaml, sends SIGHUP and waits until `check` holds (the reload applied). */
  const reload = async (users: string, check: () => Promise<boolean>) => {
    writeFileSync(configPath, configWith(users))
    daemon.process.kill("SIGHUP")
    await waitForAsync("the reload to apply", async () => ((await check()) ? true : undefined))
  }

  it("a removed user's token and session stop working; an added one works at once; a changed role applies", async () => {
    expect((await get("/api/resources", veraToken)).status).toBe(200)
    const signedIn = await fetch(`${base}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "vera", password: "vera's password" })
    })
    expect(signedIn.status).toBe(200)
    const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!
    expect((await fetch(`${base}/api/resources`, { headers: { cookie } })).status).toBe(200)
    expect((await get("/api/resources", ottoToken)).status).toBe(401)

    await reload(`  otto: { role: operator, clients: [Client1], api_tokens: ["${tokenDigest(ottoToken)}"] }\n`, async () =>
      (await get("/api/resources", ottoToken)).status === 200)
    expect((await get("/api/resources", veraToken)).status).toBe(401)
    expect((await fetch(`${base}/api/resources`, { headers: { cookie } })).status).toBe(401)
    expect((await post("/api/resources/Client1/a1.example.com/pause", ottoToken)).status).toBe(200)
    expect((await post("/api/resources/Client1/a1.example.com/resume", ottoToken)).status).toBe(200)

    await reload(`  otto: { role: viewer, clients: [Client1], api_tokens: ["${tokenDigest(ottoToken)}"] }\n`, async () =>
      (await post("/api/resources/Client1/a1.example.com/pause", ottoToken)).status === 403)
    // No restart was asked for: users are applied live.
    expect(daemon.stderr()).not.toContain("users: changed")
    expect(daemon.stderr()).not.toContain("vera's password")
  })
})
