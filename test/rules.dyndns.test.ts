import { describe, expect, it } from "vitest"
import { addressOf, canonicalAddress, needsUpdate, type RecordMemory } from "../src/monitor/dyndnsRules.ts"

describe("canonicalAddress: one text per address, with its record type", () => {
  it.each([
    ["192.0.2.1", "192.0.2.1 A"],
    ["0.0.0.0", "0.0.0.0 A"],
    ["255.255.255.255", "255.255.255.255 A"],
    ["256.0.0.1", undefined],
    ["01.2.3.4", undefined],
    ["1.2.3", undefined],
    [" 1.2.3.4", undefined],
    ["2001:DB8:0:0::1", "2001:db8::1 AAAA"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1 AAAA"],
    ["::1", "::1 AAAA"],
    ["::", ":: AAAA"],
    ["::ffff:192.0.2.7", "192.0.2.7 A"],
    ["::FFFF:c000:0207", "192.0.2.7 A"],
    ["::192.0.2.7", "::c000:207 AAAA"],
    ["fe80::1%eth0", undefined],
    ["2001:db8::1::2", undefined],
    ["2001:db8:g::1", undefined],
    ["[2001:db8::1]", undefined],
    ["example.com", undefined],
    ["", undefined],
    ["1".repeat(46), undefined]
  ])("%j -> %s", (text, expected) => {
    const found = canonicalAddress(text)
    expect(found === undefined ? undefined : `${found.address} ${found.type}`).toBe(expected)
  })
})

describe("addressOf: payload.address overrides the transport's source", () => {
  it.each([
    // [case, source, payload, choice]
    ["UDP/HTTP source, no payload", "192.0.2.1", undefined, "192.0.2.1 A"],
    ["source, payload without address", "192.0.2.1", { uptime: 5 }, "192.0.2.1 A"],
    ["IPv6 source", "2001:db8::5", null, "2001:db8::5 AAAA"],
    ["IPv4-mapped source of a dual-stack HTTP server", "::ffff:127.0.0.2", {}, "127.0.0.2 A"],
    ["payload.address overrides the source", "192.0.2.1", { address: "198.51.100.9" }, "198.51.100.9 A"],
    ["payload.address IPv6 over an IPv4 source", "192.0.2.1", { address: "2001:DB8::9" }, "2001:db8::9 AAAA"],
    ["ZeroMQ: no source, payload.address", undefined, { address: "198.51.100.9" }, "198.51.100.9 A"],
    ["ZeroMQ: no source, no payload.address", undefined, { uptime: 1 }, "none"],
    ["payload.address not an address", "192.0.2.1", { address: "home.example.com" }, "invalid"],
    ["payload.address a number", "192.0.2.1", { address: 3232235777 }, "invalid"],
    ["payload.address null", "192.0.2.1", { address: null }, "invalid"],
    ["payload.address a list", "192.0.2.1", { address: ["192.0.2.1"] }, "invalid"],
    ["source the transport could not tell", "unknown", undefined, "none"]
  ])("%s", (_case, source, payload, expected) => {
    const choice = addressOf(source, payload)
    expect(choice.kind === "address" ? `${choice.address} ${choice.type}` : choice.kind).toBe(expected)
  })
})

describe("needsUpdate: only a change (or a failure long enough ago) is sent", () => {
  const retryAfter = 300_000
  const memory = (address: string, outcome: RecordMemory["outcome"], atMs: number): RecordMemory => ({ address, outcome, atMs })
  it.each([
    // [case, memory, address, now, needed]
    ["never updated since start", undefined, "192.0.2.1", 0, true],
    ["the same address, updated", memory("192.0.2.1", "updated", 0), "192.0.2.1", 10_000_000, false],
    ["the same address, still queued", memory("192.0.2.1", "queued", 0), "192.0.2.1", 10_000_000, false],
    ["a new address", memory("192.0.2.1", "updated", 0), "192.0.2.2", 1, true],
    ["a new address while the old one is queued", memory("192.0.2.1", "queued", 0), "192.0.2.2", 1, true],
    ["the same address, failed just now", memory("192.0.2.1", "failed", 1000), "192.0.2.1", 1000 + retryAfter - 1, false],
    ["the same address, failed long enough ago", memory("192.0.2.1", "failed", 1000), "192.0.2.1", 1000 + retryAfter, true],
    ["a new address after a failure", memory("192.0.2.1", "failed", 1000), "192.0.2.9", 1001, true]
  ])("%s", (_case, remembered, address, now, expected) => {
    expect(needsUpdate(remembered, address, now, retryAfter)).toBe(expected)
  })
})
