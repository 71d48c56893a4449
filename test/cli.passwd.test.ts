import { spawn } from "node:child_process"
import { join, resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { parseScryptHash, tokenDigest, verifyPassword } from "../src/support/passwordHash.ts"

const projectRoot = resolve(import.meta.dirname, "..")
const nodeBinary = join(projectRoot, "node_modules/.bin/node")
const cli = join(projectRoot, "src/bin/heartbeat-mesh.mjs")

/** Runs `heartbeat-mesh passwd ...` with `input` on a pipe (the password is never an argument). */
const passwd = (args: ReadonlyArray<string>, input: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(nodeBinary, [cli, "passwd", ...args], { stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("exit", (code) => done({ code, stdout, stderr }))
    child.stdin.end(input)
  })

const hashOf = async (stdout: string) => {
  const match = /^password: "(\$scrypt\$[^"]+)"\n$/.exec(stdout)
  expect(match).not.toBeNull()
  const parsed = parseScryptHash(match![1]!)
  if ("problem" in parsed) throw new Error(parsed.problem)
  return parsed
}

describe("heartbeat-mesh passwd", () => {
  it("reads the password from stdin when it is not a terminal and prints the hash line", async () => {
    const result = await passwd(["alice"], "correct horse battery\nignored second line\n")
    expect(result.code).toBe(0)
    expect(result.stderr).toBe("")
    const hash = await hashOf(result.stdout)
    expect([hash.ln, hash.r, hash.p, hash.salt.length, hash.hash.length]).toEqual([15, 8, 1, 16, 32])
    await expect(verifyPassword("correct horse battery", hash)).resolves.toBe(true)
    await expect(verifyPassword("correct horse batter", hash)).resolves.toBe(false)
    // Two runs, two salts.
    const again = await hashOf((await passwd(["alice"], "correct horse battery")).stdout)
    expect(again.salt.equals(hash.salt)).toBe(false)
  })

  it("refuses an empty password with status 1 and prints nothing on stdout", async () => {
    const result = await passwd(["alice"], "\n")
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: "heartbeat-mesh: empty password; nothing printed\n" })
  })

  it("on a terminal asks twice with echo off (a real pseudo-terminal through script(1))", async () => {
    const child = spawn("script", ["-qefc", `${nodeBinary} ${cli} passwd alice`, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] })
    let screen = ""
    const waitScreen = (text: string) =>
      new Promise<void>((ok) => {
        const check = () => (screen.includes(text) ? ok() : setTimeout(check, 20))
        check()
      })
    child.stdout.on("data", (chunk) => (screen += chunk))
    const exited = new Promise<number | null>((done) => child.on("exit", done))
    await waitScreen("New password for alice: ")
    child.stdin.write("s3cret typed\r")
    await waitScreen("Again: ")
    child.stdin.write("s3cret typed\r")
    await waitScreen("password: ")
    await waitScreen("receiver.yaml")
    child.stdin.end()
    expect(await exited).toBe(0)
    // Nothing typed came back on the screen: only the prompts, the hash line and the hint.
    expect(screen).not.toContain("s3cret")
    const line = /password: "(\$scrypt\$[^"]+)"/.exec(screen)
    const parsed = parseScryptHash(line![1]!)
    if ("problem" in parsed) throw new Error(parsed.problem)
    await expect(verifyPassword("s3cret typed", parsed)).resolves.toBe(true)
  })

  it("--token prints a new token's digest line on stdout and the token once on stderr", async () => {
    const result = await passwd(["bot", "--token"], "")
    expect(result.code).toBe(0)
    const token = /\n(hmt_[A-Za-z0-9_-]{43})\n/.exec(result.stderr)![1]!
    expect(result.stdout).toBe(`api_tokens: ["${tokenDigest(token)}"]\n`)
    expect(result.stdout).not.toContain(token)
  })
})
