import { describe, expect, it } from "vitest"
import { appendJournalLine, journalLine, LineBuffer, maskTopLevelToken, onOneLine, tokenValueSpans } from "../src/ingress/journalLine.ts"

const maskCases: ReadonlyArray<readonly [string, string, string]> = [
    ["plain", '{"token":"s3cret","resource":"a"}', '{"token":"***","resource":"a"}'],
    ["spaces and a number token", '{ "resource" : "a" , "token" : 12345 }', '{ "resource" : "a" , "token" : "***" }'],
    ["escaped name", '{"\\u0074oken":"s3cret","resource":"a"}', '{"\\u0074oken":"***","resource":"a"}'],
    ["twice (JSON keeps the last; both masked)", '{"token":"a1","token":"b2"}', '{"token":"***","token":"***"}'],
    ["token-like text inside a string stays", '{"resource":"\\"token\\":\\"x\\"","token":"s3cret"}', '{"resource":"\\"token\\":\\"x\\"","token":"***"}'],
    ["nested token stays (only the top level is the wire's token)", '{"payload":{"token":"inner"},"token":"s3cret"}', '{"payload":{"token":"inner"},"token":"***"}'],
    ["object and array values", '{"token":{"a":[1,"}"]},"x":[{"y":"]"}]}', '{"token":"***","x":[{"y":"]"}]}'],
    ["no token", '{"resource":"a"}', '{"resource":"a"}'],
    ["empty object", "{}", "{}"],
    ["true/null values", '{"deregister":true,"token":null}', '{"deregister":true,"token":"***"}'],
    ["trailing spaces", '{"token":"s3cret"}  ', '{"token":"***"}  ']
]

describe("maskTopLevelToken: every top-level token masked, the rest as sent", () => {
  it.each(maskCases)("%s", (_, text, masked) => {
    expect(maskTopLevelToken(text)).toBe(masked)
    // Still JSON, and no token left at the top.
    const parsed = JSON.parse(masked) as Record<string, unknown>
    if ("token" in parsed) expect(parsed["token"]).toBe("***")
  })

  it.each([
    ["not an object", '"s3cret"'],
    ["an array", '["s3cret"]'],
    ["cut short", '{"token":"s3cr'],
    ["broken key", '{"tok\\q":"s"}'],
    ["garbage after a value", '{"token":"s" x}']
  ])("%s: left out (undefined)", (_, text) => {
    expect(maskTopLevelToken(text)).toBeUndefined()
  })
})

describe("journal lines", () => {
  it("one line, valid JSON, whatever the frame's whitespace", () => {
    expect(onOneLine('{"a":\r\n1,"b":"x\u2028y"}')).toBe('{"a":  1,"b":"x\\u2028y"}')
    const line = journalLine({
      atMs: 0,
      transport: "udp",
      source: "127.0.0.1:5000",
      result: "rejected",
      reason: "unknown_token",
      bytes: 30,
      frame: '{"token":"***","resource":"a"}'
    }, "1970-01-01T00:00:00.000Z")
    expect(line.endsWith("\n")).toBe(true)
    expect(line.slice(0, -1)).not.toContain("\n")
    expect(JSON.parse(line)).toEqual({
      time: "1970-01-01T00:00:00.000Z",
      transport: "udp",
      source: "127.0.0.1:5000",
      result: "rejected",
      reason: "unknown_token",
      bytes: 30,
      frame: { token: "***", resource: "a" }
    })
  })
})

const entry = { transport: "zmq", source: null, result: "rejected", reason: "unknown_token", bytes: 30 } as const
const time = "2026-12-01T00:00:00.000Z"

describe("the byte path makes the same lines as the text path", () => {
  it.each(maskCases)("%s", (_, text, masked) => {
    const spans: Array<number> = []
    expect(tokenValueSpans(Buffer.from(text), spans)).toBe(true)
    const out = new LineBuffer(8)
    appendJournalLine(out, entry, time, Buffer.from(text), spans)
    appendJournalLine(out, { ...entry, source: "[::1]:5000", result: "accepted", reason: undefined }, time, undefined, [])
    expect(out.taken().toString("utf8")).toBe(
      journalLine({ ...entry, atMs: 0, frame: masked }, time) +
        journalLine({ ...entry, atMs: 0, source: "[::1]:5000", result: "accepted", reason: undefined, frame: undefined }, time)
    )
    out.reset()
    expect(out.taken().length).toBe(0)
  })

  it.each([
    ["non-ASCII", '{"token":"s3cret","resource":"café ☕"}'],
    ["a line break between members", '{"token":"s3cret",\n"resource":"a"}'],
    ["a line break inside a value", '{"payload":{\r\n"a":1},"token":"s3cret"}'],
    ["a trailing newline", '{"token":"s3cret"}\n'],
    ["U+2028 in a string", '{"token":"s3cret","resource":"a\u2028b"}'],
    ["cut short", '{"token":"s3cr'],
    ["not an object", '["s3cret"]']
  ])("%s: left to the text path", (_, text) => {
    expect(tokenValueSpans(Buffer.from(text), [])).toBe(false)
  })
})
