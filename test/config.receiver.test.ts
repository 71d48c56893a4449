import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"

const problemsOf = (yaml: string): ReadonlyArray<string> => {
  const result = parseReceiverConfig(yaml, "receiver.test")
  if (Result.isSuccess(result)) throw new Error("expected the configuration to be refused")
  return result.failure
}

const valid = (yaml: string) => {
  const result = parseReceiverConfig(yaml, "receiver.test")
  if (Result.isFailure(result)) throw new Error(result.failure.join("\n"))
  return result.success
}

describe("receiver.yaml refusals", () => {
  it.each([
    ["enabled: false", "enabled: the receiver is disabled: set `enabled: true` to run it, got false"],
    ["enabled: yes please", "enabled: the receiver is disabled: set `enabled: true` to run it, got \"yes please\""],
    ["clients: {}", "enabled: is required"]
  ])("refuses %j", (yaml, message) => {
    expect(problemsOf(yaml)).toEqual([message])
  })

  it("reports every problem at once, each with its path and what was expected", () => {
    expect(problemsOf(`
enabled: true
check_interval: -5
queue_threshold: 2.5
notifier: email
clients:
  Client1:
    token: aaaaaaaa
    timeout: 1
    resources:
      host1:
        severity: extreme
  Client2:
    token: bbbbbbbb
    timeout: abc
  Client3:
    timeout: 0
`)).toEqual([
      "queue_threshold: expected a positive whole number, got 2.5",
      "check_interval: expected a positive number of seconds, at most 31536000 (one year), got -5",
      "notifier: expected one of notify_devilry, stdout, got \"email\"",
      "clients.Client2.timeout: expected a number of minutes from 1/60 (one second) to 525600 (one year), got \"abc\"",
      "clients.Client3.token: is required",
      "clients.Client3.timeout: expected a number of minutes from 1/60 (one second) to 525600 (one year), got 0"
    ])
  })

  it("refuses a duplicate token without printing it", () => {
    const problems = problemsOf(`
enabled: true
clients:
  Alpha: { token: s3cr3t-token-value, timeout: 1 }
  Beta: { token: s3cr3t-token-value, timeout: 1 }
`)
    expect(problems).toEqual(["clients.Beta.token: the same token as client Alpha; every client needs its own token"])
    expect(problems.join("\n")).not.toContain("s3cr3t")
  })

  it("never repeats a token value in a message, even a malformed one", () => {
    const problems = problemsOf(`
enabled: true
clients:
  Alpha: { token: [s3cr3t], timeout: 1 }
`)
    expect(problems).toEqual(["clients.Alpha.token: expected a non-empty token, got an object"])
    expect(problems.join("\n")).not.toContain("s3cr3t")
  })

  it("refuses YAML that does not parse, with the line", () => {
    expect(problemsOf("enabled: true\nclients:\n  A: [unclosed\n")).toEqual([
      expect.stringMatching(/line \d+, column \d+/)
    ])
  })

  it("refuses a top level that is not a mapping", () => {
    expect(problemsOf("- enabled: true\n")).toEqual([
      "(top level): expected a mapping of receiver settings, got [{\"enabled\":true}]"
    ])
  })
})

describe("receiver.yaml accepted", () => {
  it("applies the deployed defaults", () => {
    const config = valid("enabled: true\nclients:\n  A: {token: a, timeout: 1}\n")
    expect(config.timing).toEqual({
      checkIntervalMs: 60_000,
      jitterMs: 60_000,
      graceMs: 70_000,
      rareCheckIntervalMs: 1_800_000,
      removedClientRetentionMs: 604_800_000
    })
    expect(config.notifyDevilryCmd).toBe("/opt/sysadmws/notify_devilry/notify_devilry.py")
    expect(config.notifyDevilrySleepMs).toBe(1000)
    expect(config.queueThreshold).toBe(1000)
    expect(config.notifier).toBe("notify_devilry")
    expect(config.receiver).toEqual({ name: "receiver.test", origin: "heartbeat_mesh/receiver.py" })
  })

  it("keeps client and resource names that YAML reads as numbers as the text written", () => {
    const config = valid(`
enabled: true
clients:
  007:
    token: a
    timeout: 0.5
    resources:
      1.10: {}
      host2:
  12: {token: b, timeout: 2}
`)
    const byName = new Map(config.clients.map((client) => [client.name, client]))
    expect([...byName.keys()].sort()).toEqual(["007", "12"])
    expect(byName.get("007")?.timeoutMinutes).toBe(0.5)
    expect([...(byName.get("007")?.resources.keys() ?? [])].sort()).toEqual(["1.10", "host2"])
  })

  it("takes timing, identity and notifier settings", () => {
    const config = valid(`
enabled: true
check_interval: 5
timeout_jitter: 0
grace_period: 0
rare_check_interval: 30
notify_devilry_sleep: 0.25
notify_devilry_cmd: /usr/local/bin/notify
queue_threshold: 50
receiver_name: rx1.example.com
notifier: stdout
clients:
  A: {token: a, timeout: 1}
`)
    expect(config.timing).toEqual({ checkIntervalMs: 5000, jitterMs: 0, graceMs: 0, rareCheckIntervalMs: 30_000, removedClientRetentionMs: 604_800_000 })
    expect(config.notifyDevilrySleepMs).toBe(250)
    expect(config.notifyDevilryCmd).toBe("/usr/local/bin/notify")
    expect(config.queueThreshold).toBe(50)
    expect(config.receiver.name).toBe("rx1.example.com")
    expect(config.notifier).toBe("stdout")
  })

  it("warns about unknown settings instead of refusing them", () => {
    const config = valid("enabled: true\ntimout: 5\nclients:\n  A: {token: a, timeout: 1, colour: red}\n")
    expect(config.warnings).toEqual([
      "timout: unknown setting, ignored",
      "clients.A.colour: unknown setting, ignored"
    ])
  })
})
