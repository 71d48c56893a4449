import { afterEach, describe, expect, it } from "vitest"
import { Result } from "effect"
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { Pull } from "zeromq"
import { parseSenderConfig } from "../src/config/SenderConfig.ts"
import { buildHeartbeat } from "../src/sender/heartbeat.ts"
import { decodeFrames } from "../src/ingress/FrameDecoder.ts"
import {
  freePort,
  makeWorkspace,
  pushTo,
  runCli,
  spawnCli,
  type RunningDaemon,
  silentListener,
  startDaemon,
  waitFor
} from "./support/daemonProcess.ts"

const writeSenderConfig = (body: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "hbm-sender-")), "sender.yaml")
  writeFileSync(path, body)
  return path
}

const receiverConfig = `
enabled: true
notify_devilry_sleep: 0
grace_period: 0
clients:
  Client1:
    token: sender-e2e-token
    timeout: 5
`

/**
 * Makes the daemon know `resource` (one heartbeat, until its `new` is out): a deregistration of a
 * name the receiver never knew sends nothing (issue 15).
 */
const makeKnown = async (workspace: ReturnType<typeof makeWorkspace>, port: number, resource: string) => {
  const push = pushTo(port)
  await push.heartbeat("sender-e2e-token", resource)
  await waitFor("new", () =>
    workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_new" && n.resource === resource))
  push.close()
}

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

describe("sender wire format", () => {
  it("builds exactly the SPEC 1 heartbeat", () => {
    const config = parseSenderConfig(`
enabled: true
receivers:
  rx1.example.com:
    token: aaaaaaaa
    resource: host1.example.com:service
    timeout: 5
    payload:
      - name: test1
        cmd: ["echo", "1", "2", "3"]
  rx2.example.com:
    token: bbbbbbbb
    uptime_payload: false
`)
    if (Result.isFailure(config)) throw new Error(config.failure.join("\n"))
    const [first, second] = config.success.receivers
    expect(buildHeartbeat(first!, "this-host", 12345, new Map([["test1", "1 2 3"]]))).toEqual({
      token: "aaaaaaaa",
      resource: "host1.example.com:service",
      timeout: 5,
      payload: { uptime: 12345, test1: "1 2 3" }
    })
    expect(buildHeartbeat(second!, "this-host", 12345, new Map())).toEqual({
      token: "bbbbbbbb",
      resource: "this-host",
      payload: {}
    })
  })

  it("puts one JSON frame on a real PULL socket: token, resource, timeout in minutes, integer uptime, payload", async () => {
    const port = await freePort()
    const pull = new Pull({ receiveTimeout: 15_000 })
    await pull.bind(`tcp://127.0.0.1:${port}`)
    try {
      const config = writeSenderConfig(`
enabled: true
receivers:
  127.0.0.1:
    port: ${port}
    token: wire-token
    timeout: 2.5
    payload:
      - name: kernel
        cmd: ["uname", "-s"]
`)
      const run = await runCli(["sender", "--config", config])
      expect(run).toMatchObject({ code: 0, stdout: "", stderr: "" })
      const frames = await pull.receive()
      expect(frames).toHaveLength(1)
      const heartbeat = JSON.parse(frames[0]!.toString("utf8"))
      expect(Object.keys(heartbeat)).toEqual(["token", "resource", "timeout", "payload"])
      expect(heartbeat).toMatchObject({ token: "wire-token", resource: hostname(), timeout: 2.5 })
      expect(heartbeat.payload.kernel).toBe("Linux")
      expect(Number.isInteger(heartbeat.payload.uptime)).toBe(true)
      const procUptime = Math.floor(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]))
      expect(Math.abs(heartbeat.payload.uptime - procUptime)).toBeLessThanOrEqual(60)
    } finally {
      pull.close()
    }
  })
})

describe("sender wire format with plugins (issue 20)", () => {
  it("a heartbeat with every plugin on this machine is a frame the deployed receiver accepts: payload.metrics and payload.checks inside a free-form payload", async () => {
    const port = await freePort()
    const pull = new Pull({ receiveTimeout: 15_000 })
    await pull.bind(`tcp://127.0.0.1:${port}`)
    try {
      const dir = mkdtempSync(join(tmpdir(), "hbm-sender-"))
      const check = join(dir, "check_ok")
      writeFileSync(check, "#!/bin/sh\necho 'OK - fine | t=1s;2;3'\n")
      chmodSync(check, 0o755)
      const config = writeSenderConfig(`
enabled: true
state_file: ${join(dir, "state.json")}
plugins: { cpu: {}, memory: {}, disk: {}, network: {}, filesystem: {}, os: {}, nagios: { checks: [{ name: check_ok, cmd: ["${check}"] }] } }
thresholds:
  memory.percent: { warning: 101, critical: 102 }
receivers:
  127.0.0.1:
    port: ${port}
    token: wire-token
`)
      expect(await runCli(["sender", "--config", config])).toMatchObject({ code: 0, stdout: "", stderr: "" })
      const frames = await pull.receive()
      // The deployed receiver (SPEC 1): one frame, json.loads, an object whose token is a known
      // string and whose resource is a string; payload is any object, stored and written as sent.
      expect(frames).toHaveLength(1)
      const heartbeat = JSON.parse(frames[0]!.toString("utf8"))
      expect(Object.keys(heartbeat)).toEqual(["token", "resource", "payload"])
      expect(Object.keys(heartbeat.payload)).toEqual(["uptime", "metrics", "checks"])
      expect(Object.keys(heartbeat.payload.metrics)).toEqual(["cpu", "memory", "disk", "network", "filesystem", "os", "nagios"])
      expect(heartbeat.payload.checks["memory.percent"]).toEqual({
        level: "ok",
        value: heartbeat.payload.metrics.memory.percent,
        text: `memory.percent = ${heartbeat.payload.metrics.memory.percent} (OK; warning > 101, critical > 102)`
      })
      expect(heartbeat.payload.checks["nagios.check_ok"]).toEqual({ level: "ok", value: 0, text: "OK - fine" })
      // JSON all the way down (no NaN or Infinity, which Python's json.loads would read but we would not).
      expect(JSON.parse(JSON.stringify(heartbeat))).toEqual(heartbeat)
      // Our own receiver takes it too, well inside its frame limit.
      expect(decodeFrames(frames)).toMatchObject({ ok: true, repairs: [] })
      expect(frames[0]!.byteLength).toBeLessThan(16 * 1024)
    } finally {
      pull.close()
    }
  })
})

describe("sender against the real receiver daemon", () => {
  it("a normal heartbeat, with payload commands, arrives: new, and the payload in the heartbeat files", async () => {
    const workspace = makeWorkspace(receiverConfig)
    daemon = await startDaemon(workspace)
    const config = writeSenderConfig(`
enabled: true
receivers:
  127.0.0.1:
    port: ${daemon.port}
    token: sender-e2e-token
    resource: web7.example.com
    payload:
      - name: greeting
        cmd: ["echo", "hello", "world"]
      - name: broken
        cmd: ["sh", "-c", "echo oops >&2; exit 4"]
      - name: missing
        cmd: ["/nonexistent/program"]
`)
    const run = await runCli(["sender", "--config", config])
    expect(run.code).toBe(0)
    expect(run.stderr).toContain('msg="payload command failed; the heartbeat is sent with the failure noted" name=broken reason="exit status 4: oops"')
    const fresh = await waitFor("new", () =>
      workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_new" && n.resource === "web7.example.com"))
    expect(fresh.client).toBe("Client1")
    const current = join(workspace.stateDir, "heartbeats/current/client1/web7_example_com.json")
    const line = await waitFor("current file", () => {
      try {
        return JSON.parse(readFileSync(current, "utf8"))
      } catch {
        return undefined
      }
    })
    expect(line.payload).toMatchObject({
      greeting: "hello world",
      broken: "failed: exit status 4: oops",
      missing: "failed: /nonexistent/program: command not found"
    })
    expect(Number.isInteger(line.payload.uptime)).toBe(true)
  })

  it("--deregister RESOURCE RECEIVER PORT TOKEN (the deployed form) still deregisters, with a warning about ps", async () => {
    const workspace = makeWorkspace(receiverConfig)
    daemon = await startDaemon(workspace)
    await makeKnown(workspace, daemon.port, "old.example.com")
    const run = await runCli(["sender", "--deregister", "old.example.com", "127.0.0.1", String(daemon.port), "sender-e2e-token", "--config", "/nonexistent"])
    expect(run).toMatchObject({
      code: 0,
      stderr: "level=warn msg=\"a token on the command line is visible to every user of this host (ps, /proc); use --token-file FILE or HEARTBEAT_MESH_TOKEN instead\"\n"
    })
    const gone = await waitFor("deregistered", () =>
      workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_deregistered"))
    expect(gone).toMatchObject({ resource: "old.example.com", client: "Client1", value: "deregistered" })
  })

  it.each([
    ["--token-file FILE", "file"],
    ["HEARTBEAT_MESH_TOKEN", "env"]
  ])("--deregister with the token from %s: nothing on argv, nothing on stderr", async (_, source) => {
    const workspace = makeWorkspace(receiverConfig)
    daemon = await startDaemon(workspace)
    await makeKnown(workspace, daemon.port, "old.example.com")
    const tokenFile = join(mkdtempSync(join(tmpdir(), "hbm-token-")), "token")
    writeFileSync(tokenFile, "sender-e2e-token\n", { mode: 0o600 })
    const args = ["sender", "--deregister", "old.example.com", "127.0.0.1", String(daemon.port)]
    const run = source === "file"
      ? await runCli([...args, "--token-file", tokenFile])
      : await runCli(args, { HEARTBEAT_MESH_TOKEN: "sender-e2e-token" })
    expect(run).toMatchObject({ code: 0, stdout: "", stderr: "" })
    const gone = await waitFor("deregistered", () =>
      workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_deregistered"))
    expect(gone).toMatchObject({ resource: "old.example.com", client: "Client1", value: "deregistered" })
  })

  it("an unreadable --token-file is an error naming the file, exit 1", async () => {
    const run = await runCli(["sender", "--deregister", "r", "127.0.0.1", "15987", "--token-file", "/nonexistent/token"])
    expect(run).toMatchObject({ code: 1, stderr: "heartbeat-mesh: cannot read the token file /nonexistent/token: ENOENT\n" })
  })

  it("one live and two refusing receivers: the live one is served, the dead ones skipped quietly, exit 0", async () => {
    const workspace = makeWorkspace(receiverConfig)
    daemon = await startDaemon(workspace)
    const closedPort = await freePort()
    const config = writeSenderConfig(`
enabled: true
send_timeout: 45
receivers:
  127.0.0.2:
    port: ${closedPort}
    token: dead-one
  127.0.0.1:
    port: ${daemon.port}
    token: sender-e2e-token
    resource: alive.example.com
  127.0.0.3:
    port: ${closedPort}
    token: dead-two
`)
    const quiet = await runCli(["sender", "--config", config])
    expect(quiet).toMatchObject({ code: 0, stdout: "", stderr: "" })
    await waitFor("new", () => workspace.notifications().find((n) => n.resource === "alive.example.com"))
    // With --debug the same run says what happened to each: refused at once, not at the 45 s deadline.
    const debug = await runCli(["sender", "--config", config, "--debug"])
    expect(debug.code).toBe(0)
    const outcomes = debug.stderr.split("\n").filter((l) => l.includes("heartbeat delivery")).map((l) => /receiver=(\S+) outcome=(\S+)/.exec(l)?.slice(1))
    expect(outcomes).toEqual([
      [`tcp://127.0.0.2:${closedPort}`, "refused"],
      [`tcp://127.0.0.1:${daemon.port}`, "sent"],
      [`tcp://127.0.0.3:${closedPort}`, "refused"]
    ])
    expect(debug.stderr).not.toContain("dead-one")
  })

  it("a receiver that never answers is given up at the send timeout; the live one is still served", async () => {
    const workspace = makeWorkspace(receiverConfig)
    daemon = await startDaemon(workspace)
    const silent = await silentListener()
    try {
      const config = writeSenderConfig(`
enabled: true
send_timeout: 1
receivers:
  127.0.0.1:
    port: ${silent.port}
    token: silent
  localhost:
    port: ${daemon.port}
    token: sender-e2e-token
    resource: served.example.com
`)
      const run = await runCli(["sender", "--config", config, "--debug"])
      expect(run.code).toBe(0)
      expect(run.stderr).toMatch(/outcome=timed_out detail="no answer within 1000 ms"/)
      expect(run.stderr).toMatch(/outcome=sent/)
      await waitFor("new", () => workspace.notifications().find((n) => n.resource === "served.example.com"))
    } finally {
      silent.close()
    }
  })
})

describe("sender modes and errors", () => {
  it("exits 0 quietly and sends nothing when enabled is not true", async () => {
    for (const enabled of ["false", "no", "'true'"]) {
      const run = await runCli(["sender", "--config", writeSenderConfig(`enabled: ${enabled}\nreceivers: {}\n`)])
      expect(run).toEqual({ code: 0, stdout: "", stderr: "" })
    }
  })

  it("--dry-run prints the heartbeats with the token redacted", async () => {
    const config = writeSenderConfig(`
enabled: true
receivers:
  rx1.example.com:
    token: secret-token
    resource: h1
    uptime_payload: false
    payload:
      - name: one
        cmd: ["echo", "1"]
`)
    const run = await runCli(["sender", "--config", config, "--dry-run"])
    expect(run).toEqual({
      code: 0,
      stdout: 'tcp://rx1.example.com:15987 {"token":"<redacted>","resource":"h1","payload":{"one":"1"}}\n',
      stderr: ""
    })
  })

  it("--print runs every plugin and prints the heartbeat without sending it or touching the state file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hbm-sender-"))
    const config = writeSenderConfig(`
enabled: true
state_file: ${join(dir, "state.json")}
plugins:
  os: { interval: 86400 }
  memory: {}
thresholds:
  memory.percent: { warning: 0, operator: ">=" }
receivers:
  rx1.example.com:
    token: secret-token
    resource: h1
    uptime_payload: false
`)
    const run = await runCli(["sender", "--config", config, "--print"])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe("")
    expect(run.stdout).not.toContain("secret-token")
    const [endpoint, json] = run.stdout.trimEnd().split(" ", 2) as [string, string]
    expect(endpoint).toBe("tcp://rx1.example.com:15987")
    const heartbeat = JSON.parse(run.stdout.trimEnd().slice(endpoint.length + 1))
    expect(json.startsWith("{")).toBe(true)
    expect(heartbeat).toMatchObject({ token: "<redacted>", resource: "h1", payload: { metrics: { os: { hostname: hostname() } } } })
    expect(heartbeat.payload.checks["memory.percent"]).toMatchObject({ level: "warning" })
    expect(existsSync(join(dir, "state.json"))).toBe(false)
  })

  it("--every keeps sending, one heartbeat per interval, until SIGTERM (exit 0)", async () => {
    const port = await freePort()
    const pull = new Pull({ receiveTimeout: 15_000 })
    await pull.bind(`tcp://127.0.0.1:${port}`)
    const config = writeSenderConfig(`enabled: true\ntmp_file_check: false\nreceivers:\n  127.0.0.1:\n    port: ${port}\n    token: loop\n    resource: looping\n`)
    const child = spawnCli(["sender", "--config", config, "--every", "1s"])
    try {
      for (let i = 0; i < 3; i++) {
        const [frame] = await pull.receive()
        expect(JSON.parse(frame!.toString("utf8"))).toMatchObject({ token: "loop", resource: "looping" })
      }
    } finally {
      pull.close()
    }
    expect(await child.stop()).toEqual({ code: 0, stderr: "" })
  })

  it("--every refuses what is not a duration of at least a second", async () => {
    for (const every of ["0.5s", "soon", "500ms"]) {
      expect(await runCli(["sender", "--every", every])).toMatchObject({
        code: 2,
        stderr: `heartbeat-mesh: --every must be a duration of at least 1s (10s, 1m, 90), got "${every}" (see 'heartbeat-mesh sender --help')\n`
      })
    }
  })

  it("one-off send by flags, without a config file", async () => {
    const run = await runCli(["sender", "--receiver", "rx9.example.com", "--token", "t", "--port", "1234", "--resource", "r9", "--timeout", "3", "--dry-run"])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout.replace("tcp://rx9.example.com:1234 ", ""))).toMatchObject({ token: "<redacted>", resource: "r9", timeout: 3 })
  })

  it.each([
    [
      "enabled: true\nreceivers:\n  rx1:\n    port: 99999\n    timeout: soon\n    payload:\n      - name: x\n        cmd: echo hi\n",
      [
        "rx1.port: expected a port number from 1 to 65535, got 99999",
        "rx1.token: is required",
        "rx1.timeout: expected a number of minutes from 1/60 (one second) to 525600 (one year), got \"soon\"",
        "rx1.payload.0.cmd: expected a list of strings: the program and its arguments (no shell), got \"echo hi\""
      ].map((p) => `receivers.${p}`)
    ],
    ["enabled: true\n", ["receivers: is required"]],
    ["enabled: true\nreceivers:\n  rx1: {token: ~}\n", ["receivers.rx1.token: expected a non-empty token, got a null"]],
    ["enabled: true\nreceivers: [a, b]\n", ["receivers: expected a mapping of receiver host names, got [\"a\",\"b\"]"]]
  ])("refuses a bad sender.yaml with every problem, exit 1: %j", async (yaml, problems) => {
    const path = writeSenderConfig(yaml)
    const run = await runCli(["sender", "--config", path])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(
      `heartbeat-mesh: ${path}: ${problems.length} problem${problems.length === 1 ? "" : "s"}, nothing was sent:\n` +
        problems.map((p) => `  - ${p}\n`).join("")
    )
  })

  it("refuses bad flags with one line and exit status 2", async () => {
    expect(await runCli(["sender", "--deregister", "a", "b"])).toMatchObject({
      code: 2,
      stderr: "heartbeat-mesh: --deregister needs RESOURCE RECEIVER PORT, got 2 values (see 'heartbeat-mesh sender --help')\n"
    })
    expect(await runCli(["sender", "--deregister", "a", "b", "http", "t"])).toMatchObject({
      code: 2,
      stderr: "heartbeat-mesh: --deregister: PORT must be from 1 to 65535, got \"http\" (see 'heartbeat-mesh sender --help')\n"
    })
    expect(await runCli(["sender", "--receiver", "rx"])).toMatchObject({
      code: 2,
      stderr: "heartbeat-mesh: --receiver needs a token: --token-file FILE or HEARTBEAT_MESH_TOKEN (see 'heartbeat-mesh sender --help')\n"
    })
    // sender.yaml's range: a second's worth to a year, as the receiver takes it.
    for (const [timeout, shown] of [["0.001", "0.001"], ["600000", "600000"], ["-5", "-5"]] as const) {
      expect(await runCli(["sender", "--receiver", "rx", "--timeout", timeout, "--dry-run"], { HEARTBEAT_MESH_TOKEN: "t" })).toMatchObject({
        code: 2,
        stderr: `heartbeat-mesh: --timeout must be a number of minutes from 1/60 (one second) to 525600 (one year), got ${shown} (see 'heartbeat-mesh sender --help')\n`
      })
    }
  })

  it("a failed temporary file check exits non-zero and sends nothing", async () => {
    const port = await freePort()
    const pull = new Pull({ receiveTimeout: 500 })
    await pull.bind(`tcp://127.0.0.1:${port}`)
    try {
      const config = writeSenderConfig(`enabled: true\nreceivers:\n  127.0.0.1:\n    port: ${port}\n    token: t\n`)
      // A TMPDIR that is a regular file: nothing can be created in it.
      const notADirectory = join(mkdtempSync(join(tmpdir(), "hbm-tmpcheck-")), "plain-file")
      writeFileSync(notADirectory, "")
      const run = await runCli(["sender", "--config", config], { TMPDIR: notADirectory })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/^heartbeat-mesh: temporary file check failed, nothing sent \(is the disk healthy\?\): .*plain-file\/heartbeat-mesh-check-\d+-[0-9a-f]+: ENOTDIR/)
      await expect(pull.receive()).rejects.toMatchObject({ code: "EAGAIN" })
    } finally {
      pull.close()
    }
  })
})
