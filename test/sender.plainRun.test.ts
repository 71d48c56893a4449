// The sender's plain cron run (src/cli/plainSenderRun.ts): which command lines skip effect's
// command-line parser, and that such a run does exactly what the parser's run does: same exit
// status, same stdout and stderr, same frames on a real PULL socket.
import { describe, expect, it } from "vitest"
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { Pull } from "zeromq"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { plainSenderRun } from "../src/cli/plainSenderRun.ts"
import { falseWords, trueWords } from "../src/cli/settingNames.ts"
import { freePort, runCli } from "./support/daemonProcess.ts"

const defaults = { config: "/etc/heartbeat-mesh/sender.yaml", logFormat: "logfmt", logLevel: "Info" }

describe("plainSenderRun: the command lines that skip the parser", () => {
  it.each<[ReadonlyArray<string>, Record<string, string>, object]>([
    [[], {}, defaults],
    [["--config", "/x.yaml"], {}, { ...defaults, config: "/x.yaml" }],
    [["--config=/x.yaml"], {}, { ...defaults, config: "/x.yaml" }],
    [[], { HEARTBEAT_MESH_CONFIG: "/env.yaml" }, { ...defaults, config: "/env.yaml" }],
    [["--config", "/flag.yaml"], { HEARTBEAT_MESH_CONFIG: "/env.yaml" }, { ...defaults, config: "/flag.yaml" }],
    [["--debug"], {}, { ...defaults, logLevel: "Debug" }],
    [[], { HEARTBEAT_MESH_DEBUG: "yes" }, { ...defaults, logLevel: "Debug" }],
    [[], { HEARTBEAT_MESH_DEBUG: "0" }, defaults],
    [["--log-level", "warn", "--log-format=json"], {}, { ...defaults, logLevel: "Warn", logFormat: "json" }],
    [[], { HEARTBEAT_MESH_LOG_LEVEL: "error", HEARTBEAT_MESH_LOG_FORMAT: "json" }, { ...defaults, logLevel: "Error", logFormat: "json" }],
    [["--log-level", "none", "--debug"], {}, { ...defaults, logLevel: "Debug" }],
    [["--log-level", "warn"], { HEARTBEAT_MESH_LOG_LEVEL: "trace" }, { ...defaults, logLevel: "Warn" }],
    [[], { PATH: "/bin", JOURNAL_STREAM: "8:1" }, defaults]
  ])("%j with %j", (args, env, expected) => {
    expect(plainSenderRun(args, env)).toEqual(expected)
  })

  it.each<[ReadonlyArray<string>, Record<string, string>]>([
    [["--help"], {}],
    [["-h"], {}],
    [["--version"], {}],
    [["--bogus"], {}],
    [["--dry-run"], {}],
    [["--print"], {}],
    [["--every", "10s"], {}],
    [["--deregister", "r", "h", "1"], {}],
    [["--receiver", "rx"], {}],
    [["stray"], {}],
    [["--config"], {}],
    [["--config", ""], {}],
    [["--config="], {}],
    [["--config", "--debug"], {}],
    [["--config", "a", "--config", "b"], {}],
    [["--debug", "--debug"], {}],
    [["--debug=true"], {}],
    [["--log-level", "loud"], {}],
    [["--log-format", "xml"], {}],
    [["--", "--config", "x"], {}],
    [[], { HEARTBEAT_MESH_LOG_LEVEL: "INFO" }],
    [[], { HEARTBEAT_MESH_LOG_FORMAT: "" }],
    [[], { HEARTBEAT_MESH_CONFIG: "" }],
    [[], { HEARTBEAT_MESH_DEBUG: "maybe" }],
    [[], { HEARTBEAT_MESH_DRY_RUN: "true" }],
    [[], { HEARTBEAT_MESH_SEND_TIMEOUT: "0" }],
    [[], { HEARTBEAT_MESH_TOKEN: "t" }],
    [[], { HEARTBEAT_MESH_ANYTHING: "x" }]
  ])("not %j with %j: the parser decides", (args, env) => {
    expect(plainSenderRun(args, env)).toBeUndefined()
  })
})

describe("the words a plain run takes for HEARTBEAT_MESH_DEBUG", () => {
  // The parser reads the variable with effect's Config.Boolean: a word it takes differently would
  // make the two paths disagree, so each word is checked against it.
  const parsedBy = (word: string) =>
    Effect.runSync(Config.Boolean("V").parse(ConfigProvider.fromEnv({ env: { V: word } })).pipe(Effect.option)).pipe(Option.getOrUndefined)
  it.each([...trueWords.map((word) => [word, true] as const), ...falseWords.map((word) => [word, false] as const)])("%s is %s, as Config.Boolean reads it", (word, value) => {
    expect(parsedBy(word)).toBe(value)
    expect(plainSenderRun([], { HEARTBEAT_MESH_DEBUG: word })?.logLevel).toBe(value ? "Debug" : "Info")
  })
  it.each(["TRUE", "Yes", " 1", "2", "enabled"])("%j: the parser's call", (word) => {
    expect(plainSenderRun([], { HEARTBEAT_MESH_DEBUG: word })).toBeUndefined()
  })
})

const tempConfig = (body: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "hbm-plain-")), "sender.yaml")
  writeFileSync(path, body)
  return path
}

/** Times, timings and random file names differ between two runs; nothing else may. */
const steady = (text: string) =>
  text.replace(/\bms=\d+/g, "ms=N").replace(/"ms":\d+/g, '"ms":N').replace(/"time":"[^"]+"/g, '"time":T').replace(/check-\d+-[0-9a-f]+/g, "check-PID-X")

/**
 * The same run twice: as the plain cron run, and through the parser (`--send-timeout 10` is the
 * default and changes nothing for a run from sender.yaml, but only the parser takes it).
 */
const bothWays = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const plain = await runCli(["sender", ...args], env)
  const parsed = await runCli(["sender", ...args, "--send-timeout", "10"], env)
  return { plain: { ...plain, stderr: steady(plain.stderr) }, parsed: { ...parsed, stderr: steady(parsed.stderr) } }
}

describe("a plain run does what the parser's run does", () => {
  const closedPort = 1
  /** A refusing receiver (a debug line) and a failing payload command (a warning). */
  const noisyConfig = () =>
    tempConfig(`enabled: true\nreceivers:\n  127.0.0.1:\n    port: ${closedPort}\n    token: t\n    payload:\n      - {name: broken, cmd: [/bin/false]}\n`)

  const refusing = () => tempConfig(`enabled: true\nreceivers:\n  127.0.0.1: {port: ${closedPort}, token: t}\n`)
  const debugLine =
    `level=debug msg="heartbeat delivery" receiver=tcp://127.0.0.1:${closedPort} outcome=refused detail="connection refused or unreachable" ms=N\n`
  const warningLine = `level=warn msg="payload command failed; the heartbeat is sent with the failure noted" name=broken reason="exit status 1"\n`

  // [case, its command line and variables, exit status, what stderr must be (a pattern where it names a temporary path)]
  it.each<[string, () => { args: ReadonlyArray<string>; env?: Record<string, string> }, number, string | RegExp]>([
    ["a missing sender.yaml: exit 1, one message", () => ({ args: ["--config", "/nonexistent/sender.yaml"] }), 1,
      "heartbeat-mesh: /nonexistent/sender.yaml: 1 problem, nothing was sent:\n  - cannot read the file: ENOENT: no such file or directory, open '/nonexistent/sender.yaml'\n"],
    ["an invalid sender.yaml: exit 1, every problem", () => ({ args: ["--config", tempConfig("enabled: true\nreceivers:\n  rx: {port: 70000}\n")] }), 1,
      /^heartbeat-mesh: \/.*\/sender\.yaml: 2 problems, nothing was sent:\n(  - .*\n){2}$/],
    ["a disabled sender.yaml: exit 0, nothing said", () => ({ args: ["--config", tempConfig("enabled: false\n")] }), 0, ""],
    ["a refusing receiver, --debug: exit 0, one debug line", () => ({ args: ["--debug", "--config", refusing()] }), 0, debugLine],
    ["a failing payload command, JSON logs from the variables: a warning, exit 0", () => ({
      args: [],
      env: { HEARTBEAT_MESH_CONFIG: noisyConfig(), HEARTBEAT_MESH_LOG_FORMAT: "json" }
    }), 0, `{"time":T,"level":"warn","msg":"payload command failed; the heartbeat is sent with the failure noted","name":"broken","reason":"exit status 1"}\n`],
    ["the --flag=value forms, --log-level warn: the warning, not the debug line", () => ({
      args: [`--config=${noisyConfig()}`, "--log-level=warn"]
    }), 0, warningLine],
    ["--log-level none with --debug: --debug wins", () => ({ args: ["--log-level", "none", "--config", noisyConfig(), "--debug"] }), 0,
      warningLine + debugLine],
    ["every setting from its variable, under journald: priorities", () => ({
      args: [],
      env: { HEARTBEAT_MESH_CONFIG: noisyConfig(), HEARTBEAT_MESH_LOG_LEVEL: "error", HEARTBEAT_MESH_DEBUG: "yes", JOURNAL_STREAM: "8:1" }
    }), 0, `<4>${warningLine}<7>${debugLine}`],
    ["--log-level error: the warning held back", () => ({ args: ["--config", noisyConfig(), "--log-level", "error"] }), 0, ""],
    ["a failed temporary file check: exit 1", () => {
      const notADirectory = join(mkdtempSync(join(tmpdir(), "hbm-plain-")), "plain-file")
      writeFileSync(notADirectory, "")
      return { args: ["--config", refusing()], env: { TMPDIR: notADirectory } }
    }, 1, /^heartbeat-mesh: temporary file check failed, nothing sent \(is the disk healthy\?\): .*ENOTDIR.*\n$/]
  ])("%s", async (_, setup, code, stderr) => {
    const { args, env } = setup()
    const { plain, parsed } = await bothWays(args, env)
    expect(plain).toEqual(parsed)
    expect(plain.code).toBe(code)
    expect(plain.stdout).toBe("")
    if (typeof stderr === "string") expect(plain.stderr).toBe(stderr)
    else expect(plain.stderr).toMatch(stderr)
  })

  it("the same frames on a real PULL socket, payload commands included", async () => {
    const port = await freePort()
    const pull = new Pull()
    await pull.bind(`tcp://127.0.0.1:${port}`)
    try {
      const script = join(mkdtempSync(join(tmpdir(), "hbm-plain-")), "load.sh")
      writeFileSync(script, "#!/bin/sh\necho '  0.42  '\n")
      chmodSync(script, 0o755)
      const config = tempConfig(`enabled: true
receivers:
  127.0.0.1:
    port: ${port}
    token: "0123"
    resource: plain.example.com
    timeout: 2.5
    uptime_payload: false
    payload:
      - {name: load, cmd: [${script}]}
      - {name: gone, cmd: [/nonexistent/program]}
`)
      const { plain, parsed } = await bothWays(["--config", config])
      expect(plain).toEqual(parsed)
      expect(plain.code).toBe(0)
      const frames: Array<string> = []
      for (let i = 0; i < 2; i++) frames.push(String((await pull.receive())[0]))
      expect(frames[0]).toBe(frames[1])
      expect(JSON.parse(frames[0]!)).toEqual({
        token: "0123",
        resource: "plain.example.com",
        timeout: 2.5,
        payload: { load: "0.42", gone: "failed: /nonexistent/program: command not found" }
      })
    } finally {
      pull.close()
    }
  })

  it("the same frames with plugins (a Nagios check through the lazily loaded spawner), each run its own state file", async () => {
    const port = await freePort()
    const pull = new Pull()
    await pull.bind(`tcp://127.0.0.1:${port}`)
    try {
      const dir = mkdtempSync(join(tmpdir(), "hbm-plain-"))
      const check = join(dir, "check_thing")
      writeFileSync(check, "#!/bin/sh\necho 'THING WARNING - 7 things|things=7;5;9;0;'\nexit 1\n")
      chmodSync(check, 0o755)
      const configWith = (stateFile: string) =>
        tempConfig(`enabled: true
state_file: ${stateFile}
plugins:
  os: {}
  nagios:
    checks:
      - {name: thing, cmd: [${check}]}
receivers:
  127.0.0.1: {port: ${port}, token: "0123", resource: plugins.example.com, uptime_payload: false}
`)
      const plain = await runCli(["sender", "--config", configWith(join(dir, "plain.state.json"))])
      const parsed = await runCli(["sender", "--config", configWith(join(dir, "parsed.state.json")), "--send-timeout", "10"])
      expect(plain).toEqual({ code: 0, stdout: "", stderr: "" })
      expect(parsed).toEqual(plain)
      const frames: Array<string> = []
      for (let i = 0; i < 2; i++) frames.push(String((await pull.receive())[0]))
      expect(frames[0]).toBe(frames[1])
      const payload = JSON.parse(frames[0]!).payload
      expect(payload.checks["nagios.thing"]).toMatchObject({ level: "warning", text: "THING WARNING - 7 things" })
      expect(payload.metrics.nagios.thing).toMatchObject({ exit_code: 1, perfdata: { things: { value: 7, warning: 5, critical: 9, min: 0 } } })
      expect(payload.metrics.os.hostname).toBe(hostname())
      // Both runs left the same state, but for when each ran.
      const state = (name: string) => JSON.parse(readFileSync(join(dir, name), "utf8"), (key, value) => key === "ranAtMs" ? typeof value : value)
      expect(state("plain.state.json")).toEqual(state("parsed.state.json"))
    } finally {
      pull.close()
    }
  })
})
