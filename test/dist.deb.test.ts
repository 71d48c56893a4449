import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { gunzipSync } from "node:zlib"
import { freePort, waitFor } from "./support/daemonProcess.ts"

const root = resolve(import.meta.dirname, "..")
const out = mkdtempSync(join(tmpdir(), "hbm-dist-"))
const debs = { sender: join(out, "heartbeat-mesh-sender_0.1.0_amd64.deb"), receiver: join(out, "heartbeat-mesh-receiver_0.1.0_amd64.deb") }
const dpkgDeb = (...args: Array<string>) => spawnSync("dpkg-deb", args, { encoding: "utf8" }).stdout

/** Runs a packaged program, the way cron or systemd would, from a scratch root made by dpkg -x. */
const runPackaged = (program: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(program, args, { env: { PATH: "/usr/bin:/bin", ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("exit", (code) => done({ code, stdout, stderr }))
  })

describe("npm run dist: the sender bundle and the two .deb packages", () => {
  const senderRoot = join(out, "sender-root")
  const receiverRoot = join(out, "receiver-root")
  let receiver: ChildProcess | undefined

  beforeAll(() => {
    // The same script as npm run dist; --fast: gzip -1 instead of xz, same contents.
    const dist = spawnSync(join(root, "node_modules/.bin/node"), [join(root, "scripts/dist.ts"), "--fast", "--out", out], { encoding: "utf8" })
    expect(dist.status, dist.stderr).toBe(0)
    for (const [deb, dir] of [[debs.sender, senderRoot], [debs.receiver, receiverRoot]] as const) {
      expect(spawnSync("dpkg", ["-x", deb, dir]).status).toBe(0)
    }
  }, 180_000)

  afterAll(() => {
    receiver?.kill("SIGKILL")
  })

  it("builds the bundle as one file of JavaScript with only the sender in it", () => {
    const bundle = readFileSync(join(out, "heartbeat-mesh-sender.mjs"), "utf8")
    expect(statSync(join(out, "heartbeat-mesh-sender.mjs")).size).toBeLessThan(1024 * 1024)
    expect(bundle).toContain("tmp_file_check")
    // No receiver, HTTP server or SQLite code; zeromq (a native addon) is the one package left outside.
    for (const absent of ["node:sqlite", "state.db", "notify_devilry_cmd", "text/event-stream"]) expect(bundle).not.toContain(absent)
    // One static import (the banner's createRequire); every other outside module, built-in or
    // zeromq, is require()d by a stand-in module, only when the code that uses it first runs.
    expect([...bundle.matchAll(/from"([^"]+)"/g)].map((m) => m[1])).toEqual(["node:module"])
    const lazy = [...bundle.matchAll(/\.exports=[\w$]+\("([^"]+)"\)/g)].map((m) => m[1]!)
    expect(lazy).toContain("node:child_process")
    expect(lazy.filter((name) => !builtinModules.includes(name.replace(/^node:/, "")))).toEqual(["zeromq"])
  })

  it("the sender .deb: Node runtime inside, cron file and configuration as conffiles, example config", () => {
    expect(dpkgDeb("--field", debs.sender, "Package", "Depends")).toBe("Package: heartbeat-mesh-sender\nDepends: libc6 (>= 2.28), libstdc++6 (>= 10), cron | cron-daemon\n")
    expect(readFileSync(join(senderRoot, "etc/cron.d/heartbeat-mesh-sender"), "utf8")).toMatch(/^\* \* \* \* \* root heartbeat-mesh-sender --config \/etc\/heartbeat-mesh\/sender\.yaml$/m)
    const conffiles = spawnSync("sh", ["-c", `dpkg-deb --ctrl-tarfile '${debs.sender}' | tar -xO ./conffiles`], { encoding: "utf8" }).stdout
    expect(conffiles).toBe("/etc/cron.d/heartbeat-mesh-sender\n/etc/heartbeat-mesh/sender.yaml\n")
    expect(readFileSync(join(senderRoot, "etc/heartbeat-mesh/sender.yaml"), "utf8")).toMatch(/^enabled: false/m)
    expect(existsSync(join(senderRoot, "usr/share/doc/heartbeat-mesh-sender/examples/sender.example.yaml"))).toBe(true)
    const node = spawnSync(join(senderRoot, "usr/lib/heartbeat-mesh-sender/node"), ["--version"], { encoding: "utf8" })
    expect(node.stdout.trim()).toBe(process.version)
  })

  it("both packages: copyright naming every bundled npm package, changelog, manual page from --help, usage hint", () => {
    for (const [pkg, dir, command] of [["heartbeat-mesh-sender", senderRoot, "heartbeat-mesh-sender"], ["heartbeat-mesh-receiver", receiverRoot, "heartbeat-mesh"]] as const) {
      const doc = join(dir, "usr/share/doc", pkg)
      const copyright = readFileSync(join(doc, "copyright"), "utf8")
      expect(copyright).toMatch(/^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m)
      for (const bundled of ["effect", "@effect/platform-node", "yaml"]) {
        const { version, license } = JSON.parse(readFileSync(join(root, "node_modules", bundled, "package.json"), "utf8"))
        expect(copyright).toContain(` ${bundled} ${version} (${license})\n`)
      }
      expect(copyright).toContain(`Node.js ${process.version}`)
      expect(gunzipSync(readFileSync(join(doc, "changelog.gz"))).toString()).toMatch(/^heartbeat-mesh \(0\.1\.0\) unstable; urgency=medium\n[^]* -- .+ <.+>  \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\n$/)
      const manual = gunzipSync(readFileSync(join(dir, "usr/share/man/man1", `${command}.1.gz`))).toString()
      expect(manual).toMatch(new RegExp(`^\\.TH ${command.toUpperCase()} 1 `))
      expect(manual).toContain("--log-format")
    }
    // The receiver's page has every subcommand's help.
    const receiverManual = gunzipSync(readFileSync(join(receiverRoot, "usr/share/man/man1/heartbeat-mesh.1.gz"))).toString()
    for (const name of ["receiver", "sender", "check-config", "status", "keygen"]) expect(receiverManual).toContain(`.SH HELP (heartbeat-mesh ${name} --help)`)
    const postinst = spawnSync("sh", ["-c", `dpkg-deb --ctrl-tarfile '${debs.sender}' | tar -xO ./postinst`], { encoding: "utf8" }).stdout
    expect(spawnSync("sh", ["-c", postinst, "postinst", "configure", ""], { encoding: "utf8" }).stdout).toContain("heartbeat-mesh-sender --dry-run")
    expect(spawnSync("sh", ["-c", postinst, "postinst", "configure", "0.1.0"], { encoding: "utf8" }).stdout).toBe("")
  })

  it("the receiver .deb: systemd unit on the packaged command, system user and state folder made at install", () => {
    const unit = readFileSync(join(receiverRoot, "lib/systemd/system/heartbeat-mesh-receiver.service"), "utf8")
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/heartbeat-mesh receiver --config \/etc\/heartbeat-mesh\/receiver\.yaml --state-dir \/var\/lib\/heartbeat-mesh$/m)
    expect(unit).toMatch(/^User=heartbeat-mesh$/m)
    const postinst = spawnSync("sh", ["-c", `dpkg-deb --ctrl-tarfile '${debs.receiver}' | tar -xO ./postinst`], { encoding: "utf8" }).stdout
    expect(postinst).toContain("useradd --system --user-group --home-dir /var/lib/heartbeat-mesh")
    expect(postinst).toContain("install -d -m 0750 -o heartbeat-mesh -g heartbeat-mesh /var/lib/heartbeat-mesh")
    expect(existsSync(join(receiverRoot, "usr/lib/heartbeat-mesh/dashboard/index.html"))).toBe(true)
  })

  it("the receiver .deb carries the notify_devilry spawn helper, and the packaged Node runs it", async () => {
    const lib = join(receiverRoot, "usr/lib/heartbeat-mesh")
    const dir = mkdtempSync(join(tmpdir(), "hbm-dist-helper-"))
    const standIn = join(dir, "notify_devilry.sh")
    writeFileSync(standIn, `#!/bin/sh\ncat > "${dir}/delivered.json"\n`, { mode: 0o755 })
    const helper = spawn(join(lib, "node"), [join(lib, "spawnHelper.mjs")], { stdio: ["pipe", "pipe", "pipe"] })
    let answers = ""
    helper.stdout!.on("data", (chunk) => (answers += chunk))
    const exited = new Promise<number | null>((done) => helper.on("exit", done))
    helper.stdin!.write(`${JSON.stringify({ run: 1, command: standIn, args: [], input: "{\"event\":\"x\"}", timeoutMs: 10_000, killAfterMs: 1000 })}\n`)
    await waitFor("the run's answer", () => (answers.includes('"done":1') ? true : undefined))
    helper.stdin!.end()
    expect(await exited).toBe(0)
    expect(answers.trim().split("\n").map((line) => JSON.parse(line)).at(-1)).toEqual({ done: 1, outcome: "exit", code: 0, signal: null, output: "" })
    expect(readFileSync(join(dir, "delivered.json"), "utf8")).toBe('{"event":"x"}')
  })

  it("the packaged sender delivers to the packaged receiver (real processes, real ZeroMQ), and deregisters with a token file", async () => {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), "hbm-dist-run-"))
    writeFileSync(join(dir, "receiver.yaml"), `enabled: true
notifier: stdout
grace_period: 0
notify_devilry_sleep: 0
clients:
  Packaged:
    token: packaged-token
    timeout: 5
`)
    let stdout = ""
    let stderr = ""
    receiver = spawn(join(receiverRoot, "usr/bin/heartbeat-mesh"), [
      "receiver", "--config", join(dir, "receiver.yaml"), "--iface", "127.0.0.1", "--port", String(port), "--state-dir", join(dir, "state")
    ], { stdio: ["ignore", "pipe", "pipe"] })
    receiver.stdout!.on("data", (chunk) => (stdout += chunk))
    receiver.stderr!.on("data", (chunk) => (stderr += chunk))
    await waitFor("the packaged receiver", () => (stderr.includes("receiver running") ? true : undefined))

    writeFileSync(join(dir, "sender.yaml"), `enabled: true
receivers:
  127.0.0.1:
    port: ${port}
    token: packaged-token
    resource: deb.example.com
`)
    const sender = join(senderRoot, "usr/bin/heartbeat-mesh-sender")
    expect(await runPackaged(sender, ["--config", join(dir, "sender.yaml")])).toEqual({ code: 0, stdout: "", stderr: "" })
    const notified = (event: string) => stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((n) => n.event === event)
    expect(await waitFor("new", () => notified("heartbeat_mesh_heartbeat_new"))).toMatchObject({ resource: "deb.example.com", client: "Packaged" })

    writeFileSync(join(dir, "token"), "packaged-token\n")
    expect(await runPackaged(sender, ["--deregister", "deb.example.com", "127.0.0.1", String(port), "--token-file", join(dir, "token")]))
      .toEqual({ code: 0, stdout: "", stderr: "" })
    expect(await waitFor("deregistered", () => notified("heartbeat_mesh_heartbeat_deregistered"))).toMatchObject({ resource: "deb.example.com" })
    // And it takes the flags of `heartbeat-mesh sender`, with the same usage errors under its own name.
    expect(await runPackaged(sender, ["--bogus"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "heartbeat-mesh: Unrecognized flag: --bogus in command heartbeat-mesh-sender (see 'heartbeat-mesh-sender --help')\n"
    })
  })
})
