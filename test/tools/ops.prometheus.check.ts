// Tool checks (npm run check:tools): promtool from Debian's prometheus package, installed by .ci/run.
import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { resolve } from "node:path"

const rulesDir = resolve(import.meta.dirname, "../../ops/prometheus")
const promtool = (...args: Array<string>) => spawnSync("promtool", args, { cwd: rulesDir, encoding: "utf8" })

describe("Prometheus alert rules (promtool)", () => {
  it("pass promtool check rules", () => {
    const result = promtool("check", "rules", "heartbeat-mesh.rules.yml")
    expect(result.error).toBeUndefined()
    expect(result.stdout + result.stderr).toContain("SUCCESS: 6 rules found")
    expect(result.status).toBe(0)
  })

  it("fire as their unit tests say (promtool test rules)", () => {
    const result = promtool("test", "rules", "heartbeat-mesh.rules.test.yml")
    expect(result.stdout + result.stderr).toContain("SUCCESS")
    expect(result.status).toBe(0)
  })
})
