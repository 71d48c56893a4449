import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, runCli, startDaemon } from "./support/daemonProcess.ts"

const tempFile = (name: string, body: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "hbm-cli-")), name)
  writeFileSync(path, body)
  return path
}

const commands = ["receiver", "sender", "check-config", "status"]

describe("usage errors: one line on stderr naming the problem, a hint to --help, exit status 2", () => {
  it.each([
    [["sender", "--bogus"], "heartbeat-mesh: Unrecognized flag: --bogus in command heartbeat-mesh sender (see 'heartbeat-mesh sender --help')"],
    [["receiver", "--port", "abc"], "heartbeat-mesh: Invalid value for flag --port: \"abc\". Expected a string representing a finite number (see 'heartbeat-mesh receiver --help')"],
    [["receiver", "--port", "70000"], "heartbeat-mesh: --port must be between 0 and 65535, got 70000 (see 'heartbeat-mesh receiver --help')"],
    [["receiver", "--log-format", "xml"], "heartbeat-mesh: Invalid value for flag --log-format: \"xml\". Expected: \"logfmt\" | \"json\" (see 'heartbeat-mesh receiver --help')"]
  ])("%j", async (args, line) => {
    const run = await runCli(args)
    expect(run).toEqual({ code: 2, stdout: "", stderr: `${line}\n` })
  })

  it("a bad value in a variable names the variable", async () => {
    const run = await runCli(["receiver"], { HEARTBEAT_MESH_PORT: "abc" })
    expect(run).toEqual({
      code: 2,
      stdout: "",
      stderr: "heartbeat-mesh: HEARTBEAT_MESH_PORT (for --port): expected a string representing a finite number (see 'heartbeat-mesh receiver --help')\n"
    })
  })
})

describe("--help", () => {
  it.each(commands)("%s: every flag shows its variable, and its default where it has one", async (command) => {
    const run = await runCli([command, "--help"])
    expect(run.code).toBe(0)
    const flagLines = run.stdout.split("\n").filter((line) => /^\s+--[a-z]/.test(line) && !/--(help|version|completions)\b/.test(line))
    expect(flagLines.length).toBeGreaterThan(1)
    for (const line of flagLines) {
      const flag = /--([a-z-]+)/.exec(line)![1]!
      expect(line).toContain(`env HEARTBEAT_MESH_${flag.toUpperCase().replaceAll("-", "_")})`)
    }
  })

  it("shows the defaults", async () => {
    const help = (await runCli(["receiver", "--help"])).stdout
    expect(help).toMatch(/--config string\s+.*\(default \/etc\/heartbeat-mesh\/receiver\.yaml; env HEARTBEAT_MESH_CONFIG\)/)
    expect(help).toMatch(/--port integer\s+.*\(default 15987; env HEARTBEAT_MESH_PORT\)/)
    expect(help).toMatch(/--log-format choice\s+.*\(default logfmt; env HEARTBEAT_MESH_LOG_FORMAT\)/)
  })
})

describe("flags from the environment", () => {
  it("HEARTBEAT_MESH_CONFIG and HEARTBEAT_MESH_DRY_RUN stand for --config and --dry-run; a flag wins over its variable", async () => {
    const config = tempFile("sender.yaml", "enabled: true\nreceivers:\n  rx.example.com: {token: t, resource: from-env, uptime_payload: false}\n")
    const other = tempFile("sender.yaml", "enabled: true\nreceivers:\n  rx.example.com: {token: t, resource: from-flag, uptime_payload: false}\n")
    const env = { HEARTBEAT_MESH_CONFIG: config, HEARTBEAT_MESH_DRY_RUN: "true" }
    expect(await runCli(["sender"], env)).toEqual({
      code: 0,
      stdout: 'tcp://rx.example.com:15987 {"token":"<redacted>","resource":"from-env","payload":{}}\n',
      stderr: ""
    })
    expect((await runCli(["sender", "--config", other], env)).stdout).toContain('"resource":"from-flag"')
  })
})

describe("check-config", () => {
  it("prints the effective receiver configuration with defaults applied and tokens masked, exit 0", async () => {
    const path = tempFile("receiver.yaml", `enabled: true
clients:
  Alpha:
    token: very-secret-alpha
    timeout: 2
http:
  admin_token: very-secret-admin
`)
    const run = await runCli(["check-config", path])
    expect(run.code).toBe(0)
    expect(run.stdout).not.toContain("very-secret")
    const shown = JSON.parse(run.stdout)
    expect(shown).toMatchObject({ file: path, kind: "receiver", valid: true })
    expect(shown.config.clients).toMatchObject([{ name: "Alpha", token: "<masked>", timeoutMinutes: 2 }])
    expect(shown.config.http).toEqual({ host: "127.0.0.1", port: 50004, adminToken: "<masked>" })
    expect(shown.config.timing).toEqual({ checkIntervalMs: 60_000, jitterMs: 60_000, graceMs: 70_000, rareCheckIntervalMs: 1_800_000, removedClientRetentionMs: 604_800_000 })
  })

  it("masks the channels' secrets: API keys, bot tokens, SMTP passwords, header values, secrets in webhook URLs", async () => {
    const path = tempFile("receiver.yaml", `enabled: true
clients:
  Alpha:
    token: very-secret-alpha
    timeout: 2
channels:
  hook: { type: webhook, url: "https://hooks.example.com/hb/very-secret-path?token=very-secret-q", headers: { X-Key: very-secret-header } }
  al: { type: alerta, url: "https://user:very-secret-pw@alerta.example.com/api", api_key: very-secret-apikey }
  sl: { type: slack, url: "https://hooks.slack.com/services/T0/B0/very-secret-slack" }
  tg: { type: telegram, bot_token: "123:very-secret-bot", chat_id: "42" }
  po: { type: pushover, token: very-secret-po, user: very-secret-user }
  mail: { type: email, smtp: { host: smtp.example.com, user: hb, password: very-secret-smtp }, from: hb@example.com, to: ops@example.com }
  mail2: { type: email, smtp: { host: smtp.example.com, user: hb, password_file: /etc/hb/smtp.pass }, from: hb@example.com, to: ops@example.com }
`)
    const run = await runCli(["check-config", path])
    expect(run.code).toBe(0)
    expect(run.stdout).not.toContain("very-secret")
    const channels = Object.fromEntries(
      (JSON.parse(run.stdout).config.notifications.channels as Array<{ name: string; spec: unknown }>).map((c) => [c.name, c.spec])
    )
    expect(channels["hook"]).toMatchObject({ url: { from: "inline", value: "https://hooks.example.com/<masked>" }, headers: [["X-Key", { from: "inline", value: "<masked>" }]] })
    expect(channels["al"]).toMatchObject({ url: "https://user:<masked>@alerta.example.com/api", apiKey: { from: "inline", value: "<masked>" } })
    expect(channels["sl"]).toMatchObject({ url: { from: "inline", value: "https://hooks.slack.com/<masked>" } })
    expect(channels["tg"]).toMatchObject({ botToken: { from: "inline", value: "<masked>" }, chatId: "42" })
    expect(channels["mail2"]).toMatchObject({ smtp: { user: "hb", password: { from: "file", path: "/etc/hb/smtp.pass" } } })
  })

  it("recognises a sender.yaml by its receivers", async () => {
    const path = tempFile("anything.yaml", "enabled: true\nreceivers:\n  rx1.example.com: {token: sender-secret}\n")
    const run = await runCli(["check-config", path])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({
      kind: "sender",
      config: { enabled: true, tmpFileCheck: true, sendTimeoutSeconds: 10, receivers: [{ host: "rx1.example.com", port: 15987, token: "<masked>" }] }
    })
  })

  it("lists every problem and exits 1", async () => {
    const path = tempFile("receiver.yaml", "enabled: true\nclients:\n  A:\n    token: \"\"\n    timeout: abc\n")
    expect(await runCli(["check-config", path])).toEqual({
      code: 1,
      stdout: "",
      stderr: `${path}: 2 problems:\n` +
        "  - clients.A.token: expected a non-empty token, got a string\n" +
        "  - clients.A.timeout: expected a number of minutes from 1/60 (one second) to 525600 (one year), got \"abc\"\n"
    })
  })
})

describe("status", () => {
  let daemon: RunningDaemon
  let url: string
  beforeAll(async () => {
    const httpPort = await freePort()
    url = `http://127.0.0.1:${httpPort}`
    const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
clients:
  Beta:
    token: status-token
    timeout: 1
    resources:
      zz-never.example.com: {}
http:
  listen: "127.0.0.1:${httpPort}"
  read_token: status-read-token
`)
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
    const push = pushTo(daemon.port)
    await push.heartbeat("status-token", "aa-alive.example.com")
    push.close()
  })
  afterAll(async () => {
    await daemon?.stop()
  })

  it("prints the resources as a table, problems first", async () => {
    const tokenFile = tempFile("token", "status-read-token\n")
    // The heartbeat is on its way through the socket: ask until its row is there.
    let result = await runCli(["status", "--url", url, "--token-file", tokenFile])
    for (let i = 0; i < 40 && !result.stdout.includes("aa-alive"); i++) {
      await new Promise((r) => setTimeout(r, 100))
      result = await runCli(["status", "--url", url, "--token-file", tokenFile])
    }
    expect(result.code).toBe(0)
    const lines = result.stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^STATUS\s+CLIENT\s+RESOURCE\s+LAST HEARTBEAT\s+DEADLINE$/)
    expect(lines[1]).toMatch(/^not_registered\s+Beta\s+zz-never\.example\.com\s+never\s+-$/)
    // The deadline is at most 120 s away (1 min timeout + 60 s jitter), which reads "2m" when asked at once.
    expect(lines[2]).toMatch(/^alive\s+Beta\s+aa-alive\.example\.com\s+\d+s ago\s+in (\d+s|2m)$/)
    expect(lines).toHaveLength(3)
  })

  it("without the read token: exit 1 and what to do", async () => {
    const run = await runCli(["status", "--url", url])
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr: `heartbeat-mesh: ${url}/api/resources answered 401 (give its read token: --token-file or HEARTBEAT_MESH_TOKEN)\n`
    })
  })
})
