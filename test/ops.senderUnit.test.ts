import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"

const unit = readFileSync(join(resolve(import.meta.dirname, ".."), "ops/systemd/heartbeat-mesh-sender.service"), "utf8")

// systemd-analyze verify runs in the tool checks (test/tools/ops.senderUnit.check.ts, npm run check:tools).
describe("sender loop unit (--every)", () => {
  it("runs the sender every 10 s with the installed config and restarts it whatever the reason", () => {
    expect(unit).toMatch(/^ExecStart=\/opt\/heartbeat-mesh\/node_modules\/\.bin\/node \/opt\/heartbeat-mesh\/src\/bin\/heartbeat-mesh\.mjs sender \\\n\s+--config \/etc\/heartbeat-mesh\/sender\.yaml --every 10s$/m)
    expect(unit).toMatch(/^Type=simple$/m)
    expect(unit).toMatch(/^Restart=always$/m)
    expect(unit).toMatch(/^StateDirectory=heartbeat-mesh$/m)
  })

  it("leaves the plugins /proc, every mount and the JIT", () => {
    for (const key of ["ProcSubset", "ProtectProc", "ProtectHome", "PrivateDevices", "MemoryDenyWriteExecute"]) {
      expect(unit).not.toMatch(new RegExp(`^${key}=`, "m"))
    }
  })
})
