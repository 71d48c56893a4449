import { describe, expect, it } from "vitest"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { clientFolderName, deployedFileName, deployedFileNameUsable, ResourceFileNames, safeName } from "../src/files/fileNames.ts"
import { heartbeatLine } from "../src/files/heartbeatLine.ts"
import { pythonFloatRepr, pythonJson } from "../src/files/pythonJson.ts"

// Issue 14.4: the deployed receiver's file names and json.dumps formatting. Expected values were
// produced by Python 3's json.dumps and repr().

describe("file and folder names", () => {
  it.each([
    ["host1.example.com", "host1_example_com"],
    ["web 1.example.com", "web_1_example_com"],
    ["db_1.example.com", "db_1_example_com"],
    ["host1.example.com:service", "host1_example_com:service"],
    ["hôte.example.com", "hôte_example_com"],
    ["..", "__"],
    [".", "_"]
  ])("%j keeps the deployed name %j", (resource, name) => {
    expect(deployedFileName(resource)).toBe(name)
    expect(deployedFileNameUsable(resource)).toBe(true)
  })

  it.each([
    ["../../etc/passwd", "could leave the folder"],
    ["a/b", "a slash"],
    ["nul\u0000byte", "NUL"],
    ["x".repeat(247), "past the file-name limit (255 bytes with .json.tmp)"],
    ["é".repeat(124), "past the limit in UTF-8 bytes"],
    ["looks~0123456789abcdef0123", "reads as a safe name"]
  ])("%j gets the safe name: %s", (resource) => {
    expect(deployedFileNameUsable(resource)).toBe(false)
    expect(safeName(resource)).toMatch(/^[A-Za-z0-9_\-]{0,80}~[0-9a-f]{20}$/)
  })

  it("a name at the limit keeps the deployed name", () => {
    expect(deployedFileNameUsable("x".repeat(246))).toBe(true)
  })

  it("the safe name is a function of the name alone: the same after a restart, distinct for distinct names", () => {
    expect(safeName("a/b")).toBe(safeName("a/b"))
    expect(safeName("a/b")).not.toBe(safeName("a_b"))
    expect(safeName("../../etc/passwd")).toMatch(/^______etc_passwd~/)
  })

  it.each([
    ["Client1", "client1"],
    ["Acme.Corp", "acme.corp"],
    ["123", "123"],
    ["Zürich", "zürich"]
  ])("client %j: folder %j (lower case, dots kept)", (client, folder) => {
    expect(clientFolderName(client)).toBe(folder)
  })

  it.each([".", "..", "a/b", "A/B"])("client %j: a safe folder", (client) => {
    expect(clientFolderName(client)).toMatch(/~[0-9a-f]{20}$/)
  })
})

describe("ResourceFileNames: first come first served, kept across restarts by the files themselves", () => {
  const setup = () => {
    const root = mkdtempSync(join(tmpdir(), "hbm-names-"))
    mkdirSync(join(root, "acme"))
    return root
  }
  const currentFile = (root: string, name: string, resource: string) =>
    writeFileSync(join(root, "acme", name), heartbeatLine(resource, 0, null, null))

  it("the first of two colliding names keeps the deployed name, the second gets the safe one", async () => {
    const names = new ResourceFileNames(setup())
    expect(await names.fileFor("acme", "a.b")).toBe("a_b.json")
    expect(await names.fileFor("acme", "a_b")).toBe(`${safeName("a_b")}.json`)
    expect(await names.fileFor("acme", "a.b")).toBe("a_b.json")
  })

  it("decided at once, two colliding names still get two files", async () => {
    const names = new ResourceFileNames(setup())
    const [first, second] = await Promise.all([names.fileFor("acme", "a b"), names.fileFor("acme", "a.b")])
    expect(new Set([first, second]).size).toBe(2)
  })

  it("after a restart, the name belongs to the resource its current file names", async () => {
    const root = setup()
    currentFile(root, "a_b.json", "a_b")
    const names = new ResourceFileNames(root)
    expect(await names.fileFor("acme", "a.b")).toBe(`${safeName("a.b")}.json`)
    expect(await names.fileFor("acme", "a_b")).toBe("a_b.json")
  })

  it("a resource that had the safe name keeps it even when the deployed name is free", async () => {
    const root = setup()
    currentFile(root, `${safeName("a_b")}.json`, "a_b")
    expect(await new ResourceFileNames(root).fileFor("acme", "a_b")).toBe(`${safeName("a_b")}.json`)
  })

  it("a current file the deployed receiver wrote (with its token) is recognised as the resource's", async () => {
    const root = setup()
    writeFileSync(join(root, "acme", "host1_example_com.json"),
      '{"utc": "2024-01-01 00:00:00", "resource": "host1.example.com", "token": "t", "payload": {}, "timeout": null}')
    expect(await new ResourceFileNames(root).fileFor("acme", "host1.example.com")).toBe("host1_example_com.json")
  })

  it("a deregistered resource's name is free again", async () => {
    const names = new ResourceFileNames(setup())
    expect(await names.fileFor("acme", "a.b")).toBe("a_b.json")
    names.forget("acme", "a.b")
    expect(await names.fileFor("acme", "a_b")).toBe("a_b.json")
  })
})

describe("json.dumps formatting", () => {
  it.each([
    [0.00001, "1e-05"],
    [0.0001, "0.0001"],
    [2.5e-7, "2.5e-07"],
    [1e16, "1e+16"],
    [1.5e300, "1.5e+300"],
    [123456789.125, "123456789.125"],
    [1234567890123456.7, "1234567890123456.8"],
    [0.1 + 0.2, "0.30000000000000004"],
    [-0, "-0.0"],
    [5e-324, "5e-324"]
  ])("float repr of %s is %s", (value, text) => {
    expect(pythonFloatRepr(value)).toBe(text)
  })

  it("whole numbers up to 2^53 as ints; others, NaN and Infinity as Python writes floats", () => {
    expect(pythonJson([42, -7, 9007199254740991, 9007199254740992, 1e16, 1.5, Infinity, -Infinity, NaN]))
      .toBe("[42, -7, 9007199254740991, 9007199254740992.0, 1e+16, 1.5, Infinity, -Infinity, NaN]")
  })

  it("strings with ensure_ascii: \\uXXXX in lower case, surrogate pairs, short escapes, DEL escaped, / not", () => {
    expect(pythonJson("héllo \u2028 \u0000 \u001f \u007f \"q\" \\ / \n\t\r\b\f 😀 \ud800 ☃"))
      .toBe('"h\\u00e9llo \\u2028 \\u0000 \\u001f \\u007f \\"q\\" \\\\ / \\n\\t\\r\\b\\f \\ud83d\\ude00 \\ud800 \\u2603"')
  })

  it("objects and lists with \", \" and \": \" separators, keys in their order", () => {
    expect(pythonJson({ a: [1, 2.5, { b: null, c: true }], "ü": [], e: {} }))
      .toBe('{"a": [1, 2.5, {"b": null, "c": true}], "\\u00fc": [], "e": {}}')
  })

  it("a heartbeat line: utc, resource, payload, timeout, and no token", () => {
    expect(heartbeatLine("web 1.example.com", Date.UTC(2024, 1, 29, 23, 59, 58), { uptime: 42 }, 0.5))
      .toBe('{"utc": "2024-02-29 23:59:58", "resource": "web 1.example.com", "payload": {"uptime": 42}, "timeout": 0.5}')
    expect(heartbeatLine("h", 0, null, null)).toBe('{"utc": "1970-01-01 00:00:00", "resource": "h", "payload": null, "timeout": null}')
  })
})
