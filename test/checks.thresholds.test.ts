import { describe, expect, it } from "vitest"
import { Result } from "effect"
import {
  builtInThresholds,
  evaluateChecks,
  type Level,
  layerThresholds,
  levelOf,
  resolveThresholdLayers,
  samplesOf,
  type ThresholdRule,
  thresholdFor
} from "../src/checks/thresholds.ts"

const rule = (fields: Partial<ThresholdRule>): ThresholdRule => ({
  warning: undefined,
  critical: undefined,
  operator: ">",
  hysteresis: 0,
  enabled: true,
  ...fields
})

describe("levelOf: one value against one threshold", () => {
  const above = rule({ warning: 80, critical: 95, hysteresis: 2 })
  const below = rule({ warning: 20, critical: 10, operator: "<", hysteresis: 5 })
  it.each<[string, ThresholdRule, number, Level | undefined, Level]>([
    // > with hysteresis 2: reaching a level takes the plain limit, leaving it takes limit - 2
    ["> under warning", above, 50, undefined, "ok"],
    ["> at warning is not above it", above, 80, "ok", "ok"],
    ["> just above warning", above, 80.1, "ok", "warning"],
    ["> from ok to critical at once", above, 99, "ok", "critical"],
    ["> warning held inside the band", above, 78.5, "warning", "warning"],
    ["> warning left below the band", above, 78, "warning", "ok"],
    ["> critical held inside the band", above, 93.5, "critical", "critical"],
    ["> critical down to warning below the band", above, 93, "critical", "warning"],
    ["> critical straight to ok", above, 10, "critical", "ok"],
    ["> from warning up to critical takes the plain limit", above, 94, "warning", "warning"],
    ["> unknown before counts as ok", above, 79, "unknown", "ok"],
    // >=
    [">= at warning", rule({ warning: 80, operator: ">=" }), 80, "ok", "warning"],
    [">= hysteresis holds", rule({ warning: 80, operator: ">=", hysteresis: 1 }), 79, "warning", "warning"],
    [">= hysteresis leaves", rule({ warning: 80, operator: ">=", hysteresis: 1 }), 78.9, "warning", "ok"],
    // < and <=: the band is above the limit
    ["< plenty free", below, 50, "ok", "ok"],
    ["< at warning is not below it", below, 20, "ok", "ok"],
    ["< under warning", below, 19, "ok", "warning"],
    ["< under critical", below, 9, "warning", "critical"],
    ["< critical held inside the band", below, 14, "critical", "critical"],
    ["< critical left above the band", below, 15, "critical", "warning"],
    ["< warning held inside the band", below, 24, "warning", "warning"],
    ["< warning left above the band", below, 25, "warning", "ok"],
    ["<= at the limit", rule({ critical: 10, operator: "<=" }), 10, "ok", "critical"],
    // == and != have no hysteresis
    ["== equal", rule({ critical: 0, operator: "==", hysteresis: 5 }), 0, "ok", "critical"],
    ["== not equal, even inside a hysteresis", rule({ critical: 0, operator: "==", hysteresis: 5 }), 1, "critical", "ok"],
    ["!= differs", rule({ warning: 1, operator: "!=" }), 2, "ok", "warning"],
    ["!= same", rule({ warning: 1, operator: "!=" }), 1, "warning", "ok"],
    // nagios exit codes
    ["nagios 0", rule({ operator: "nagios" }), 0, undefined, "ok"],
    ["nagios 1", rule({ operator: "nagios" }), 1, undefined, "warning"],
    ["nagios 2", rule({ operator: "nagios" }), 2, "ok", "critical"],
    ["nagios 3", rule({ operator: "nagios" }), 3, undefined, "unknown"],
    ["nagios 4 is unknown", rule({ operator: "nagios" }), 4, undefined, "unknown"],
    ["nagios 1.5 is unknown", rule({ operator: "nagios" }), 1.5, undefined, "unknown"],
    // only one limit
    ["critical only", rule({ critical: 5 }), 6, undefined, "critical"],
    ["warning only", rule({ warning: 5 }), 600, undefined, "warning"],
    ["no limits", rule({}), 600, undefined, "ok"],
    ["not a number", above, Number.NaN, "ok", "unknown"]
  ])("%s", (_, threshold, value, previous, level) => {
    expect(levelOf(threshold, value, previous)).toBe(level)
  })
})

describe("thresholdFor: which threshold applies to a metric key", () => {
  const table = {
    "disk.*.percent": { warning: 85, critical: 95 },
    "disk./boot.percent": { warning: 70 },
    "disk./var/*.percent": { warning: 75 },
    "network.*.errors_per_s": { warning: 1, operator: ">=" as const, hysteresis: 0.5 },
    "memory.percent": { warning: 80, enabled: false }
  }
  it.each<[string, Partial<ThresholdRule> | undefined]>([
    ["disk./.percent", { warning: 85, critical: 95, operator: ">", hysteresis: 0, enabled: true }],
    ["disk./boot.percent", { warning: 70, critical: undefined }],
    ["disk./var/lib/my data.percent", { warning: 75 }],
    ["network.eth0.100.errors_per_s", { warning: 1, operator: ">=", hysteresis: 0.5 }],
    ["disk./.free_mb", undefined],
    ["disk..percent", undefined],
    ["memory.percent", { enabled: false }],
    ["cpu.percent", undefined]
  ])("%s", (key, expected) => {
    const found = thresholdFor(table, key)
    if (expected === undefined) expect(found).toBeUndefined()
    else expect(found).toMatchObject(expected)
  })
})

describe("layers and sets", () => {
  it("a later layer overrides field by field", () => {
    expect(layerThresholds([
      { "memory.percent": { warning: 80, critical: 95, hysteresis: 2 }, "cpu.percent": { warning: 90 } },
      { "memory.percent": { critical: 90, warning: undefined } },
      { "disk.*.percent": { warning: 85 } }
    ])).toEqual({
      "memory.percent": { warning: 80, critical: 90, hysteresis: 2 },
      "cpu.percent": { warning: 90 },
      "disk.*.percent": { warning: 85 }
    })
  })

  it("resolves set names in order, with tables in between", () => {
    const sets = { base: { "memory.percent": { warning: 80, critical: 95 } }, db: { "memory.percent": { warning: 90 } } }
    expect(resolveThresholdLayers(["base", "db", { "memory.percent": { hysteresis: 3 } }], sets, "thresholds")).toEqual(
      Result.succeed({ "memory.percent": { warning: 90, critical: 95, hysteresis: 3 } })
    )
    expect(resolveThresholdLayers(["db", "base"], sets, "thresholds")).toEqual(
      Result.succeed({ "memory.percent": { warning: 80, critical: 95 } })
    )
    expect(resolveThresholdLayers({ "cpu.percent": { warning: 1 } }, {}, "thresholds")).toEqual(
      Result.succeed({ "cpu.percent": { warning: 1 } })
    )
    expect(resolveThresholdLayers(undefined, sets, "thresholds")).toEqual(Result.succeed({}))
  })

  it("an unknown set name is a problem with its path", () => {
    expect(resolveThresholdLayers(["base", "nope"], { base: {} }, "clients.A.thresholds")).toEqual(
      Result.fail(['clients.A.thresholds.1: no threshold set named "nope" (threshold_sets has base)'])
    )
  })
})

describe("samples and checks", () => {
  const metrics = {
    cpu: { percent: 42.5, load_1min: 0.5 },
    memory: { percent: 96, available_mb: 300 },
    disk: { "/": { percent: 84.2, free_mb: 1536 }, "/var/lib/my data": { percent: 90 } },
    os: { distribution: "Debian", kernel: "6.1" },
    filesystem: { mounts: [{ mount: "/", type: "ext4" }] },
    nagios: {
      check_ntp: { exit_code: 1, output: "NTP WARNING: offset 0.6 s", perfdata: { offset: { value: 0.6 } } },
      check_bad: { output: "no exit code" }
    }
  }

  it("numeric leaves by dotted path; each Nagios check is one sample with its text; information is no sample", () => {
    expect([...samplesOf(metrics)]).toEqual([
      ["cpu.percent", { value: 42.5 }],
      ["cpu.load_1min", { value: 0.5 }],
      ["memory.percent", { value: 96 }],
      ["memory.available_mb", { value: 300 }],
      ["disk./.percent", { value: 84.2 }],
      ["disk./.free_mb", { value: 1536 }],
      ["disk./var/lib/my data.percent", { value: 90 }],
      ["nagios.check_ntp", { value: 1, text: "NTP WARNING: offset 0.6 s" }]
    ])
  })

  it("samples are bounded", () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`m${i}`, i]))
    expect(samplesOf({ x: many }, 10).size).toBe(10)
  })

  it("checks only where a threshold applies; Nagios checks alert with the built-in mapping; previous levels give hysteresis", () => {
    const table = layerThresholds([builtInThresholds, {
      "memory.percent": { warning: 80, critical: 95, hysteresis: 2 },
      "disk.*.percent": { warning: 85, critical: 95, hysteresis: 1 }
    }])
    expect(evaluateChecks(samplesOf(metrics), table, { "disk./.percent": "warning" })).toEqual({
      "memory.percent": { level: "critical", value: 96, text: "memory.percent = 96 (CRITICAL; warning > 80, critical > 95)" },
      "disk./.percent": { level: "warning", value: 84.2, text: "disk./.percent = 84.2 (WARNING; warning > 85, critical > 95)" },
      "disk./var/lib/my data.percent": {
        level: "warning",
        value: 90,
        text: "disk./var/lib/my data.percent = 90 (WARNING; warning > 85, critical > 95)"
      },
      "nagios.check_ntp": { level: "warning", value: 1, text: "NTP WARNING: offset 0.6 s" }
    })
  })

  it("a disabled threshold makes no check, even for a Nagios check", () => {
    const table = layerThresholds([builtInThresholds, { "nagios.check_ntp": { enabled: false } }])
    expect(evaluateChecks(samplesOf(metrics), table, {})).toEqual({})
  })
})
