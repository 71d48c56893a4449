import { describe, expect, it } from "vitest"
import { Effect, Redacted, Result } from "effect"
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadReceiverConfig, parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { parseDnsServer, parseTsigKeyFile } from "../src/config/dyndnsConfig.ts"
import { maskSecrets } from "../src/config/maskSecrets.ts"

const secret = "q1Zz4DaT3YqJ0p7gq6cC8qQb4bYI0l8mGfJXx4rO2Q8="
const resourceWith = (dyndns: string) => `
enabled: true
clients:
  C1:
    token: aaaaaaaa
    timeout: 1
    resources:
      home.example.com:
        dyndns: ${dyndns}
`
const parse = (dyndns: string) => parseReceiverConfig(resourceWith(dyndns), "rx")
const problems = (dyndns: string) => {
  const result = parse(dyndns)
  return Result.isFailure(result) ? result.failure : []
}

describe("dyndns: per resource (dyndnsConfig.ts)", () => {
  it("reads zone, name, server and key file; ttl 60 and port 53 by default; names canonical", () => {
    const result = parse("{ zone: Dyn.Example.COM., name: home.dyn.example.com, server: ns1.example.com, tsig_key_file: /etc/hbm/update.key }")
    expect(Result.isSuccess(result) && result.success.clients[0]!.resources.get("home.example.com")!.dyndns).toEqual({
      zone: "dyn.example.com",
      name: "home.dyn.example.com",
      server: { host: "ns1.example.com", port: 53 },
      tsigKeyFile: "/etc/hbm/update.key",
      ttl: 60
    })
    const other = parse('{ zone: dyn.example.com, name: dyn.example.com, server: "[2001:db8::53]:5353", tsig_key_file: k, ttl: 0 }')
    expect(Result.isSuccess(other) && other.success.clients[0]!.resources.get("home.example.com")!.dyndns).toMatchObject({
      name: "dyn.example.com",
      server: { host: "2001:db8::53", port: 5353 },
      ttl: 0
    })
    expect(Result.isSuccess(other) && other.success.warnings).toEqual([])
  })

  it.each([
    ["{ zone: dyn.example.com, name: home.dyn.example.com, server: ns1 }", ["clients.C1.resources.home.example.com.dyndns.tsig_key_file: is required"]],
    ["home.dyn.example.com", ["clients.C1.resources.home.example.com.dyndns: expected a mapping with zone, name, server, tsig_key_file (and ttl), got \"home.dyn.example.com\""]],
    ["{ zone: dyn..example.com, name: a.dyn.example.com, server: ns1, tsig_key_file: k }", [
      'clients.C1.resources.home.example.com.dyndns.zone: expected a DNS name: labels of letters, digits, - and _ (1-63 characters each) joined by dots, e.g. dyn.example.com, got "dyn..example.com"'
    ]],
    ["{ zone: dyn.example.com, name: home dyn, server: ns1, tsig_key_file: k }", [
      'clients.C1.resources.home.example.com.dyndns.name: expected a DNS name: labels of letters, digits, - and _ (1-63 characters each) joined by dots, e.g. dyn.example.com, got "home dyn"'
    ]],
    ["{ zone: dyn.example.com, name: home.example.org, server: ns1, tsig_key_file: k }", [
      'clients.C1.resources.home.example.com.dyndns.name: "home.example.org" is not in the zone dyn.example.com; give the record\'s full name, e.g. home.dyn.example.com'
    ]],
    ['{ zone: dyn.example.com, name: h.dyn.example.com, server: "ns1:99999", tsig_key_file: k }', [
      'clients.C1.resources.home.example.com.dyndns.server: expected the DNS server as "host" or "host:port" (port 53 by default), e.g. "ns1.example.com" or "192.0.2.53:53" or "[2001:db8::53]:53", got "ns1:99999"'
    ]],
    ["{ zone: dyn.example.com, name: h.dyn.example.com, server: ns1, tsig_key_file: k, ttl: 90000 }", [
      "clients.C1.resources.home.example.com.dyndns.ttl: expected a whole number of seconds from 0 to 86400, got 90000"
    ]],
    ["{ zone: dyn.example.com, name: h.dyn.example.com, server: ns1, tsig_key_file: k, ttl: 1.5 }", [
      "clients.C1.resources.home.example.com.dyndns.ttl: expected a whole number of seconds from 0 to 86400, got 1.5"
    ]],
    ["{ zone: 123, name: h.123, server: ns1, tsig_key_file: k }", []]
  ])("%s", (dyndns, expected) => {
    expect(problems(dyndns)).toEqual(expected)
  })

  it("refuses two resources updating one name", () => {
    const result = parseReceiverConfig(`
enabled: true
clients:
  C1:
    token: aaaaaaaa
    timeout: 1
    resources:
      a: { dyndns: { zone: z.example, name: h.z.example, server: ns1, tsig_key_file: k } }
  C2:
    token: bbbbbbbb
    timeout: 1
    resources:
      b: { dyndns: { zone: z.example, name: H.z.example., server: ns1, tsig_key_file: k } }
`, "rx")
    expect(Result.isFailure(result) && result.failure).toEqual([
      "clients.C2.resources.b.dyndns.name: h.z.example is already updated for clients.C1.resources.a; one resource per name (two would overwrite each other's address)"
    ])
  })

  it.each([
    ["192.0.2.53", { host: "192.0.2.53", port: 53 }],
    ["192.0.2.53:5353", { host: "192.0.2.53", port: 5353 }],
    ["2001:db8::53", { host: "2001:db8::53", port: 53 }],
    ["[2001:db8::53]", { host: "2001:db8::53", port: 53 }],
    ["NS1.Example.com:53", { host: "ns1.example.com", port: 53 }],
    ["ns1:0", undefined],
    ["[ns1]:53", undefined],
    ["http://ns1", undefined],
    ["", undefined]
  ])("server %j", (text, expected) => {
    expect(parseDnsServer(text)).toEqual(expected)
  })
})

describe("TSIG key files (BIND's format, as tsig-keygen writes them)", () => {
  const secretOf = (text: string) => {
    const key = parseTsigKeyFile(text)
    return Result.isSuccess(key) ? { ...key.success, secret: Buffer.from(Redacted.value(key.success.secret)).toString("base64") } : key.failure
  }
  it.each([
    [`key "hbm-update" {\n\talgorithm hmac-sha256;\n\tsecret "${secret}";\n};\n`, { name: "hbm-update", algorithm: "hmac-sha256", secret }],
    [`# ddns-confgen\n// comment\n/* block\n */ key Update.Key. { algorithm HMAC-SHA512; secret "ab//cd+/"; } ;`, { name: "update.key", algorithm: "hmac-sha512", secret: "ab//cd+/" }],
    [`key "k" { algorithm hmac-md5.sig-alg.reg.int; secret "${secret}"; };`, { name: "k", algorithm: "hmac-md5", secret }],
    ["secret only", 'expected a BIND key file: key "name" { algorithm hmac-sha256; secret "..."; }; (as tsig-keygen writes it)'],
    [`key "a" { algorithm hmac-sha256; secret "${secret}"; }; key "b" { algorithm hmac-sha256; secret "${secret}"; };`, "holds 2 keys; put the one key for this update in its own file"],
    [`key "a" { secret "${secret}"; };`, "the key has no algorithm (e.g. algorithm hmac-sha256;)"],
    [`key "a" { algorithm gss-tsig; secret "${secret}"; };`, "the key's algorithm gss-tsig is not one of hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1, hmac-md5"],
    [`key "a" { algorithm hmac-sha256; };`, 'the key has no secret (secret "base64";)'],
    [`key "a" { algorithm hmac-sha256; secret "not base64!"; };`, "the key's secret is not base64"],
    [`key "a b" { algorithm hmac-sha256; secret "${secret}"; };`, "the key's name is not a DNS name (letters, digits, - and _ joined by dots)"]
  ])("%j", (text, expected) => {
    expect(secretOf(text)).toEqual(expected)
  })
})

describe("loadReceiverConfig reads the key files: a bad one refuses the file, the secret is never shown", () => {
  const dir = mkdtempSync(join(tmpdir(), "hbm-dyndns-config-"))
  const write = (name: string, text: string, mode = 0o600) => {
    const path = join(dir, name)
    writeFileSync(path, text)
    chmodSync(path, mode)
    return path
  }
  const configWith = (keyFile: string) =>
    write("receiver.yaml", resourceWith(`{ zone: dyn.example.com, name: home.dyn.example.com, server: "127.0.0.1:53", tsig_key_file: ${keyFile} }`))

  it("puts the key in the settings, held redacted; check-config's view masks it", async () => {
    const keyFile = write("good.key", `key "hbm" { algorithm hmac-sha256; secret "${secret}"; };\n`)
    const config = await Effect.runPromise(loadReceiverConfig(configWith(keyFile)))
    const dyndns = config.clients[0]!.resources.get("home.example.com")!.dyndns!
    expect(dyndns.key?.name).toBe("hbm")
    expect(Buffer.from(Redacted.value(dyndns.key!.secret)).toString("base64")).toBe(secret)
    expect(config.warnings).toEqual([])
    const shown = JSON.stringify(maskSecrets(config))
    expect(shown).not.toContain(secret)
    expect(String(dyndns.key!.secret)).not.toContain(secret)
  })

  it("warns about a key file every user may read", async () => {
    const keyFile = write("open.key", `key "hbm" { algorithm hmac-sha256; secret "${secret}"; };\n`, 0o644)
    const config = await Effect.runPromise(loadReceiverConfig(configWith(keyFile)))
    expect(config.warnings).toEqual([`${keyFile}: the TSIG key file is readable by every user; chmod o-r it`])
  })

  it.each([
    ["missing.key", undefined, "cannot read {file} (ENOENT)"],
    ["bad.key", `key "hbm" { algorithm hmac-sha256; secret "${secret}!"; };\n`, "{file}: the key's secret is not base64"]
  ])("%s", async (name, text, problem) => {
    const keyFile = text === undefined ? join(dir, name) : write(name, text)
    const failure = await Effect.runPromise(Effect.flip(loadReceiverConfig(configWith(keyFile))))
    expect(failure.problems).toEqual([`clients.C1.resources.home.example.com.dyndns.tsig_key_file: ${problem.replace("{file}", keyFile)}`])
    expect(failure.message).not.toContain(secret)
  })
})
