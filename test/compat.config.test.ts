import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseReceiverConfig, type ReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { parseSenderConfig, type SenderConfig } from "../src/config/SenderConfig.ts"
import { maxAliasedValues, parseYaml } from "../src/config/yamlDocument.ts"
import { runCli } from "./support/daemonProcess.ts"

// Compatibility with the deployed receiver.py / sender.py, which read both files with PyYAML's safe
// loader (SPEC 6). Expected values are what PyYAML gives (and what the deployed scripts then do).

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures/deployed", name), "utf8")

const receiver = (yaml: string): ReceiverConfig => {
  const result = parseReceiverConfig(yaml, "rx.test")
  if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
  return result.success
}
const receiverProblems = (yaml: string): ReadonlyArray<string> => {
  const result = parseReceiverConfig(yaml, "rx.test")
  if (Result.isSuccess(result)) throw new Error("expected the configuration to be refused")
  return result.failure
}
const sender = (yaml: string): SenderConfig => {
  const result = parseSenderConfig(yaml)
  if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
  return result.success
}
const client = (config: ReceiverConfig, name: string) => {
  const found = config.clients.find((candidate) => candidate.name === name)
  if (found === undefined) throw new Error(`no client ${name}`)
  return found
}
const oneClient = (lines: string) => `enabled: true\nclients:\n  C:\n${lines}`

describe("YAML 1.1 as PyYAML reads it", () => {
  it.each(["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"])("enabled: %s is true", (word) => {
    expect(receiver(`enabled: ${word}\nclients:\n  C: {token: t, timeout: 1}\n`).clients).toHaveLength(1)
  })

  it.each(["false", "no", "off", "Off", "y", "n", "1", "'true'", "enabled"])("enabled: %s is not true: refused", (word) => {
    expect(receiverProblems(`enabled: ${word}\nclients:\n  C: {token: t, timeout: 1}\n`)[0])
      .toMatch(/^enabled: the receiver is disabled: set `enabled: true` to run it, got /)
  })

  it("reads scalars with PyYAML's rules, not the yaml package's 1.1 ones", () => {
    const parsed = parseYaml([
      "y: y", // PyYAML: the string "y" (the yaml package: true)
      "n: n",
      "octal: 0123", // 83
      "notOctal: 0482913", // a string: not octal, and decimals may not start with 0
      "underscores: 1_000", // 1000
      "hex: 0x1F", // 31
      "sexagesimal: 1:30", // 90
      "notSexagesimal: 0:30", // a string
      "float: 1.5e+3",
      "notFloat: 1e5", // a string: PyYAML floats need a dot
      "notFloat2: 1.5e3", // a string: the exponent needs a sign
      "nothing: ~",
      "alsoNothing:"
    ].join("\n"))
    expect(parsed.value).toEqual({
      y: "y",
      n: "n",
      octal: 83,
      notOctal: "0482913",
      underscores: 1000,
      hex: 31,
      sexagesimal: 90,
      notSexagesimal: "0:30",
      float: 1500,
      notFloat: "1e5",
      notFloat2: "1.5e3",
      nothing: null,
      alsoNothing: null
    })
  })

  it("a duplicate key keeps the last value, with a warning naming both lines", () => {
    const config = receiver([
      "enabled: true", // 1
      "clients:", // 2
      "  C:", // 3
      "    token: first", // 4
      "    timeout: 1", // 5
      "    resources:", // 6
      "      host1: {severity: minor}", // 7
      "      host1: {severity: major}", // 8
      "    token: second", // 9
      "notify_devilry_sleep: 5", // 10
      "notify_devilry_sleep: 0" // 11
    ].join("\n"))
    expect(client(config, "C").token).toBe("second")
    expect(client(config, "C").resources.get("host1")).toEqual({ severity: "major" })
    expect(config.notifyDevilrySleepMs).toBe(0)
    expect(config.warnings).toEqual([
      "clients.C.resources.host1: duplicate key at line 8, also at line 7; the last one is used (as PyYAML does)",
      "clients.C.token: duplicate key at line 9, also at line 4; the last one is used (as PyYAML does)",
      "notify_devilry_sleep: duplicate key at line 11, also at line 10; the last one is used (as PyYAML does)"
    ])
  })

  it("a duplicate client name keeps the last client", () => {
    const config = receiver("enabled: true\nclients:\n  A: {token: a, timeout: 1}\n  A: {token: b, timeout: 2}\n")
    expect(config.clients.map((c) => [c.name, c.token, c.timeoutMinutes])).toEqual([["A", "b", 2]])
    expect(config.warnings).toEqual(["clients.A: duplicate key at line 4, also at line 3; the last one is used (as PyYAML does)"])
  })

  it("merge keys (<<) work as in PyYAML", () => {
    const config = receiver(`
defaults: &defaults {severity: minor, environment: prod}
enabled: true
clients:
  C:
    token: t
    timeout: 1
    resources:
      a: {<<: *defaults, severity: major}
      b: *defaults
`)
    expect(client(config, "C").resources.get("a")).toEqual({ severity: "major", environment: "prod" })
    expect(client(config, "C").resources.get("b")).toEqual({ severity: "minor", environment: "prod" })
  })
})

describe("numbers where the configuration expects text are taken as written", () => {
  it("tokens, client names, resource names and resource settings keep their text", () => {
    const config = receiver(`
enabled: true
clients:
  123:
    token: 0123
    timeout: 1
    severity: 2
    resources:
      1.10: {service: 1.5, environment: yes, location: 007}
      42:
  Big:
    token: 12345678901234567890
    timeout: 1
`)
    const numeric = client(config, "123")
    expect(numeric.token).toBe("0123")
    // What a deployed sender with the same unquoted token puts on the wire: PyYAML's 0123 is 83.
    expect(numeric.tokenNumber).toBe("83")
    expect(numeric.severity).toBe("2")
    expect(Object.fromEntries(numeric.resources)).toEqual({
      "1.10": { service: "1.5", environment: "yes", location: "007" },
      "42": {}
    })
    expect(client(config, "Big").token).toBe("12345678901234567890")
    expect(client(config, "Big")).not.toHaveProperty("tokenNumber")
  })

  it("a quoted token is a string to PyYAML too: no number form", () => {
    expect(client(receiver(oneClient('    token: "0123"\n    timeout: 1\n')), "C")).not.toHaveProperty("tokenNumber")
  })

  it("two tokens that are the same number to PyYAML (0123 and 83) are a duplicate", () => {
    expect(receiverProblems("enabled: true\nclients:\n  A: {token: 0123, timeout: 1}\n  B: {token: 83, timeout: 1}\n"))
      .toEqual(["clients.B.token: the same token as client A; every client needs its own token"])
  })

  it("a timeout written as a string is that number (the deployed receiver's int() takes it)", () => {
    expect(client(receiver(oneClient('    token: t\n    timeout: "5"\n')), "C").timeoutMinutes).toBe(5)
  })
})

describe("severities are passed on as written", () => {
  it("an unknown severity is accepted with a warning naming its path", () => {
    const config = receiver(oneClient("    token: t\n    timeout: 1\n    severity: fatal\n    resources:\n      h: {severity: disaster}\n"))
    expect(client(config, "C").severity).toBe("fatal")
    expect(client(config, "C").resources.get("h")).toEqual({ severity: "disaster" })
    expect(config.warnings).toEqual([
      'clients.C.severity: "fatal" is not a severity alerta knows (security, critical, major, minor, warning, ' +
        "indeterminate, informational, normal, ok, cleared, debug, trace, unknown); passed on as written",
      'clients.C.resources.h.severity: "disaster" is not a severity alerta knows (security, critical, major, minor, ' +
        "warning, indeterminate, informational, normal, ok, cleared, debug, trace, unknown); passed on as written"
    ])
  })

  it("an empty severity is refused", () => {
    expect(receiverProblems(oneClient('    token: t\n    timeout: 1\n    severity: ""\n'))[0]).toMatch(/^clients\.C\.severity: /)
  })
})

describe("resources", () => {
  it.each([
    ["missing", ""],
    ["null", "    resources:\n"],
    ["{}", "    resources: {}\n"]
  ])("%s: no configured resources, no warning", (_, lines) => {
    const config = receiver(oneClient(`    token: t\n    timeout: 1\n${lines}`))
    expect(client(config, "C").resources.size).toBe(0)
    expect(config.warnings).toEqual([])
  })

  it.each([["a number", "5"], ["a string", "host1.example.com"], ["true", "true"]])(
    "%s: counts as {} (as the deployed receiver reads it), with a warning",
    (_, value) => {
      const config = receiver(oneClient(`    token: t\n    timeout: 1\n    resources: ${value}\n`))
      expect(client(config, "C").resources.size).toBe(0)
      expect(config.warnings).toEqual([
        "clients.C.resources: not a mapping of resource names; no configured resources (as the deployed receiver reads it)"
      ])
    }
  )

  it("a list of names: those resources with default settings, and a warning that the deployed receiver ignored it", () => {
    const config = receiver(oneClient("    token: t\n    timeout: 1\n    resources:\n      - host1.example.com\n      - 42\n      - {x: 1}\n"))
    expect(Object.fromEntries(client(config, "C").resources)).toEqual({ "host1.example.com": {}, "42": {} })
    expect(config.warnings).toEqual([
      "clients.C.resources: a list of names; taken as those resources with default settings " +
      "(the deployed receiver ignored a list: with it these resources were not monitored)",
      "clients.C.resources.2: not a resource name, ignored"
    ])
  })

  it("a resource whose settings are not a mapping gets default settings, with a warning", () => {
    const config = receiver(oneClient("    token: t\n    timeout: 1\n    resources:\n      h: minor\n"))
    expect(client(config, "C").resources.get("h")).toEqual({})
    expect(config.warnings).toEqual(["clients.C.resources.h: the settings are not a mapping; default settings used"])
  })
})

describe("value ranges (issue 13.2): refused with the key's path", () => {
  it.each([
    ["0.0166", "clients.C.timeout"],
    ["0", "clients.C.timeout"],
    ["-1", "clients.C.timeout"],
    ["525601", "clients.C.timeout"],
    ["1e12", "clients.C.timeout"],
    [".inf", "clients.C.timeout"],
    [".nan", "clients.C.timeout"]
  ])("timeout %s", (value, path) => {
    expect(receiverProblems(oneClient(`    token: t\n    timeout: ${value}\n`))).toEqual([
      expect.stringMatching(new RegExp(`^${path.replaceAll(".", "\\.")}: expected a number of minutes from 1/60 \\(one second\\) to 525600 \\(one year\\), got `))
    ])
  })

  it.each(["0.0167", "1", "525600"])("timeout %s is usable", (value) => {
    expect(client(receiver(oneClient(`    token: t\n    timeout: ${value}\n`)), "C").timeoutMinutes).toBe(Number(value))
  })

  it.each([
    ["check_interval: 31536001", "check_interval: expected a positive number of seconds, at most 31536000 (one year), got 31536001"],
    ["check_interval: 0", "check_interval: expected a positive number of seconds, at most 31536000 (one year), got 0"],
    ["timeout_jitter: -1", "timeout_jitter: expected a non-negative number of seconds, at most 31536000 (one year), got -1"],
    ["grace_period: 1.0e+12", "grace_period: expected a non-negative number of seconds, at most 31536000 (one year), got 1000000000000"],
    // PyYAML reads 1e12 (no dot, no exponent sign) as a string.
    ["grace_period: 1e12", "grace_period: expected a non-negative number of seconds, at most 31536000 (one year), got \"1e12\""],
    ["rare_check_interval: .inf", "rare_check_interval: expected a positive number of seconds, at most 31536000 (one year), got Infinity"],
    ["notify_devilry_sleep: 86401", "notify_devilry_sleep: expected a non-negative number of seconds, at most 86400 (one day), got 86401"],
    ["notify_devilry_timeout: 0", "notify_devilry_timeout: expected a positive number of seconds, at most 86400 (one day), got 0"]
  ])("%s", (line, problem) => {
    expect(receiverProblems(`enabled: true\n${line}\nclients:\n  C: {token: t, timeout: 1}\n`)).toEqual([problem])
  })
})

describe("names (issue 13.8): valid Unicode without control or bidi-override characters", () => {
  it.each([
    ['"evil\\u202Ename"', "clients.evil\\u202ename: the name contains a control or bidi-override character"],
    ['"tab\\there"', "clients.tab\\u0009here: the name contains a control or bidi-override character"],
    ['"iso\\u2066late"', "clients.iso\\u2066late: the name contains a control or bidi-override character"],
    ['"half\\uD800"', "clients.half\\ud800: the name is not valid Unicode (a lone surrogate)"]
  ])("client name %s is refused with its path", (name, problem) => {
    expect(receiverProblems(`enabled: true\nclients:\n  ${name}: {token: t, timeout: 1}\n`)).toEqual([
      expect.stringContaining(problem)
    ])
  })

  it("a resource name with a control character is refused with its path", () => {
    expect(receiverProblems(oneClient('    token: t\n    timeout: 1\n    resources:\n      "bell\\x07": {}\n'))).toEqual([
      "clients.C.resources.bell\\u0007: the name contains a control or bidi-override character " +
      "(U+0000-001F, U+007F, U+202A-202E, U+2066-2069)"
    ])
  })

  it("a resource name longer than a heartbeat may carry is refused", () => {
    expect(receiverProblems(oneClient(`    token: t\n    timeout: 1\n    resources:\n      ${"h".repeat(513)}: {}\n`))[0])
      .toMatch(/: the name is longer than 512 characters$/)
  })

  it("other Unicode is fine", () => {
    const config = receiver('enabled: true\nclients:\n  "Zürich ☃": {token: t, timeout: 1, resources: {"hôte.example.com": {}}}\n')
    expect(client(config, "Zürich ☃").resources.has("hôte.example.com")).toBe(true)
  })

  it("the sender's resource name likewise", () => {
    const result = parseSenderConfig('enabled: true\nreceivers:\n  rx: {token: t, resource: "a\\u202Eb"}\n')
    expect(Result.isFailure(result) && result.failure).toEqual([
      "receivers.rx.resource: the name contains a control or bidi-override character (U+0000-001F, U+007F, U+202A-202E, U+2066-2069)"
    ])
  })
})

describe("alias bombs (issue 13.5, YAML side)", () => {
  const bomb = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ...["b", "c", "d", "e", "f", "g", "h", "i"].map((name, i) =>
      `${name}: &${name} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(",")}]`
    ),
    "enabled: true"
  ].join("\n")

  it("is refused by a limit, with a clear message", () => {
    expect(receiverProblems(bomb)).toEqual([
      `aliases (*name) stand for more than ${maxAliasedValues} values in all: refused as a possible alias bomb`
    ])
  })

  it("an alias inside the value it names is refused", () => {
    expect(receiverProblems("enabled: true\nloop: &x [1, *x]\n")).toEqual([
      "an alias (*name) refers to a value that contains it (line 2): refused"
    ])
  })

  it("the receiver exits 1 with one line naming the file, not by running out of memory", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "hbm-bomb-")), "receiver.yaml")
    writeFileSync(path, bomb)
    const run = await runCli(["receiver", "--config", path, "--port", "0", "--iface", "127.0.0.1", "--no-state"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${path}: 1 problem, the receiver will not start:`)
    expect(run.stderr).toContain("refused as a possible alias bomb")
  })
})

describe("sender.yaml as the deployed sender reads it", () => {
  it("the deployed example (a Linux block, then a Windows block) takes the second block", () => {
    const config = sender(fixture("sender.yaml.example"))
    expect(config.enabled).toBe(true)
    expect(config.tmpFileCheck).toBe(false)
    expect(config.receivers).toEqual([{
      host: "rx-windows.example.com",
      port: 15987,
      token: "windowstokenwindows",
      resource: "windows-host.example.com",
      timeoutMinutes: undefined,
      uptimePayload: false,
      payload: []
    }])
    expect(config.warnings).toEqual([
      "enabled: duplicate key at line 20, also at line 4; the last one is used (as PyYAML does)",
      "tmp_file_check: duplicate key at line 21, also at line 5; the last one is used (as PyYAML does)",
      "receivers: duplicate key at line 22, also at line 6; the last one is used (as PyYAML does)"
    ])
  })

  it("an unquoted all-digit token keeps its text and is sent as the number PyYAML reads", () => {
    const config = sender("enabled: yes\nreceivers:\n  a: {token: 12345678901234567890}\n  b: {token: 0123}\n  c: {token: '42'}\n")
    expect(config.receivers.map((r) => [r.token, r.tokenNumber])).toEqual([
      ["12345678901234567890", "12345678901234567890"],
      ["0123", "83"],
      ["42", undefined]
    ])
  })

  it("numbers in resource, payload names and commands keep their text; a string timeout is a number", () => {
    const config = sender('enabled: true\nreceivers:\n  a: {token: t, resource: 10.0, timeout: "3", payload: [{name: 1, cmd: [echo, 007]}]}\n')
    expect(config.receivers[0]).toMatchObject({
      resource: "10.0",
      timeoutMinutes: 3,
      payload: [{ name: "1", cmd: ["echo", "007"] }]
    })
  })

  it.each(["false", "no", "y", "1", "'True'"])("enabled: %s: the sender exits 0 and sends nothing", async (word) => {
    const path = join(mkdtempSync(join(tmpdir(), "hbm-sender-")), "sender.yaml")
    writeFileSync(path, `enabled: ${word}\nreceivers:\n  127.0.0.1: {token: t, port: 1}\n`)
    const run = await runCli(["sender", "--config", path])
    expect([run.code, run.stdout, run.stderr]).toEqual([0, "", ""])
  })
})

describe("receiver.yaml as the deployed receiver reads it", () => {
  it("the deployed shape with YAML 1.1 spellings, numeric names and tokens, a string timeout and a resource list", () => {
    const config = receiver(fixture("receiver.yaml.example"))
    // (Order aside: names that read as integers come first in a JS object, file order otherwise.)
    const byName = [...config.clients].sort((a, b) => a.name.localeCompare(b.name))
    expect(byName.map((c) => ({ ...c, resources: Object.fromEntries(c.resources) }))).toEqual([
      {
        name: "123",
        token: "12345678901234567890",
        timeoutMinutes: 2,
        severity: "fatal",
        resources: { "host3.example.com": {}, "42": {} }
      },
      { name: "Client1", token: "aaaaaaaaaaaaaaaaaaaaa", timeoutMinutes: 1, severity: "major", resources: {} },
      {
        name: "Client2",
        token: "bbbbbbbbbbbbbbbbbbbbb",
        timeoutMinutes: 1,
        resources: {
          "host1.example.com": { severity: "minor", environment: "infra", service: "database", location: "dc1" },
          "host2.example.com": {}
        }
      }
    ])
    expect(config.notifyDevilrySleepMs).toBe(1000)
    expect(config.warnings).toEqual([
      "clients.123.resources: a list of names; taken as those resources with default settings " +
      "(the deployed receiver ignored a list: with it these resources were not monitored)",
      'clients.123.severity: "fatal" is not a severity alerta knows (security, critical, major, minor, warning, ' +
      "indeterminate, informational, normal, ok, cleared, debug, trace, unknown); passed on as written"
    ])
  })

  it("enabled not true: the receiver exits 1 with a clear line", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "hbm-disabled-")), "receiver.yaml")
    writeFileSync(path, "enabled: off\nclients:\n  C: {token: t, timeout: 1}\n")
    const run = await runCli(["receiver", "--config", path, "--port", "0", "--iface", "127.0.0.1", "--no-state"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain("enabled: the receiver is disabled: set `enabled: true` to run it, got false")
  })
})
