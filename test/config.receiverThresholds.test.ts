import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"

const base = `
enabled: true
threshold_sets:
  linux: { memory.percent: { warning: 80, critical: 95 }, disk.*.percent: { warning: 85 } }
  db: { memory.percent: { warning: 90 } }
clients:
  Web:
    token: w
    timeout: 1
    thresholds: [linux, { cpu.percent: { warning: 95 } }]
    resources:
      db1.example.com:
        thresholds: [db, { disk./var.percent: { critical: 97 } }]
      plain.example.com: {}
  Other:
    token: o
    timeout: 1
`

describe("receiver.yaml thresholds (issue 20)", () => {
  it("layers per resource: the client's layers, then the resource's; no unknown-key warnings", () => {
    const parsed = parseReceiverConfig(base, "rx")
    if (Result.isFailure(parsed)) throw new Error(parsed.failure.join("\n"))
    const { thresholds, warnings } = parsed.success
    expect(warnings).toEqual([])
    expect(thresholds!.forResource("Web", "plain.example.com")).toEqual({
      "memory.percent": { warning: 80, critical: 95 },
      "disk.*.percent": { warning: 85 },
      "cpu.percent": { warning: 95 }
    })
    expect(thresholds!.forResource("Web", "discovered.example.com")).toEqual(thresholds!.forResource("Web", "plain.example.com"))
    expect(thresholds!.forResource("Web", "db1.example.com")).toEqual({
      "memory.percent": { warning: 90, critical: 95 },
      "disk.*.percent": { warning: 85 },
      "cpu.percent": { warning: 95 },
      "disk./var.percent": { critical: 97 }
    })
    expect(thresholds!.forResource("Other", "x")).toEqual({})
  })

  it("bad thresholds and unknown set names are refused with their paths, with the file's other problems", () => {
    const parsed = parseReceiverConfig(`
enabled: true
threshold_sets:
  linux: { memory.percent: { warning: lots } }
clients:
  Web:
    token: w
    timeout: 0
    thresholds: [linux, nope]
    resources:
      a: { thresholds: { cpu.percent: { operator: "~" } } }
`, "rx")
    expect(parsed).toEqual(Result.fail([
      "clients.Web.timeout: expected a number of minutes from 1/60 (one second) to 525600 (one year), got 0",
      "threshold_sets.linux.memory.percent.warning: expected a number, got \"lots\"",
      "clients.Web.resources.a.thresholds.cpu.percent.operator: expected one of > >= < <= == != nagios, got \"~\""
    ]))
    const unknownSet = parseReceiverConfig("enabled: true\nclients:\n  Web: { token: w, timeout: 1, thresholds: [nope] }\n", "rx")
    expect(unknownSet).toEqual(Result.fail(['clients.Web.thresholds.0: no threshold set named "nope" (threshold_sets has none)']))
  })
})
