import { describe, expect, it } from "vitest"
import { interpretHeartbeat, maxPayloadDepth, maxPayloadEntries, payloadBoundsProblem, readDeregister } from "../src/domain/Heartbeat.ts"
import { numberFrom } from "../src/domain/Timeout.ts"
import { decodeFrames } from "../src/ingress/FrameDecoder.ts"

// The wire read as the deployed receiver reads it (SPEC 1, SPEC 6, issue 14.3) with the bounds of
// issue 13 (13.1 payload, 13.2 timeout range, 13.8 names). Pure: the daemon-level cases are in
// compat.wire.test.ts.

const frame = (text: string | Buffer) => decodeFrames([typeof text === "string" ? Buffer.from(text) : text])
const accepted = (text: string) => {
  const decoded = frame(text)
  if (!decoded.ok) throw new Error(`rejected: ${decoded.rejection.reason} ${decoded.rejection.detail}`)
  return decoded
}
const rejection = (text: string | Buffer) => {
  const decoded = frame(text)
  if (decoded.ok) throw new Error("expected a rejection")
  return decoded.rejection
}

describe("token", () => {
  it.each([
    ['{"token": "abc", "resource": "r"}', "abc", false],
    ['{"token": 12345, "resource": "r"}', "12345", true],
    // Beyond 2^53: JSON.parse alone would make this 12345678901234567000.
    ['{"token": 12345678901234567890, "resource": "r"}', "12345678901234567890", true],
    ['{"token": 1.50, "resource": "r"}', "1.50", true],
    // A nested "token" does not confuse the top-level one.
    ['{"payload": {"token": 7}, "token": 99999999999999999999, "resource": "r"}', "99999999999999999999", true]
  ])("%s: compared by the text %j", (text, token, asNumber) => {
    const { heartbeat } = accepted(text)
    expect(heartbeat.token).toBe(token)
    expect(heartbeat.tokenIsNumber === true).toBe(asNumber)
  })

  it.each(['{"resource": "r"}', '{"token": "", "resource": "r"}', '{"token": true, "resource": "r"}', '{"token": ["a"], "resource": "r"}'])(
    "%s is an invalid field",
    (text) => {
      expect(rejection(text)).toEqual({ reason: "invalid_field", detail: "token: expected a non-empty string or number", ack: false })
    }
  )

  it("a lone surrogate in the token has its own reason", () => {
    expect(rejection('{"token": "a\\udc00", "resource": "r"}').reason).toBe("lone_surrogate")
  })
})

describe("resource names (issue 13.8)", () => {
  it("a number is taken as its digits", () => {
    expect(accepted('{"token": "t", "resource": 10.10}').heartbeat.resource).toBe("10.10")
  })

  it.each([
    ['"half\\ud800"', "lone_surrogate"],
    ['"\\udfff"', "lone_surrogate"],
    ['"evil\\u202eexe"', "forbidden_character"],
    ['"x\\u202ay"', "forbidden_character"],
    ['"x\\u2069y"', "forbidden_character"],
    ['"nul\\u0000"', "forbidden_character"],
    ['"tab\\t"', "forbidden_character"],
    ['"del\\u007f"', "forbidden_character"],
    ['""', "invalid_field"],
    [`"${"x".repeat(513)}"`, "invalid_field"],
    ["[1]", "invalid_field"]
  ])("%s: %s", (resource, reason) => {
    expect(rejection(`{"token": "t", "resource": ${resource}}`).reason).toBe(reason)
  })

  it.each(['"host1.example.com:service"', '"Zürich ☃ 😀"', `"${"x".repeat(512)}"`, '"a\\u2028b"'])("%s is fine", (resource) => {
    expect(frame(`{"token": "t", "resource": ${resource}}`).ok).toBe(true)
  })

  it("invalid UTF-8 bytes have their own reason (decoding them would turn them into U+FFFD)", () => {
    const bytes = Buffer.concat([Buffer.from('{"token": "t", "resource": "a'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])
    expect(rejection(bytes)).toEqual({ reason: "invalid_utf8", detail: `frame of ${bytes.length} bytes is not valid UTF-8` })
  })
})

describe("timeout: numeric strings taken, unusable values repaired, never a drop (issue 14.3, 13.2)", () => {
  it.each([
    ["5", 5, []],
    ["1.5", 1.5, []],
    ['"1"', 1, []],
    ['" 2.5 "', 2.5, []],
    ["0.0167", 0.0167, []],
    ["525600", 525600, []],
    ["null", null, []],
    ["0", null, ["timeout_out_of_range"]],
    ["-1", null, ["timeout_out_of_range"]],
    ["0.01", null, ["timeout_out_of_range"]],
    ["525601", null, ["timeout_out_of_range"]],
    ["1e12", null, ["timeout_out_of_range"]],
    ["1e400", null, ["timeout_out_of_range"]],
    ['"soon"', null, ["timeout_not_numeric"]],
    ['""', null, ["timeout_not_numeric"]],
    ["true", null, ["timeout_not_numeric"]],
    ["[5]", null, ["timeout_not_numeric"]],
    ['{"m": 5}', null, ["timeout_not_numeric"]]
  ])("timeout %s: %j minutes, repairs %j", (value, minutes, repairs) => {
    const decoded = accepted(`{"token": "t", "resource": "r", "timeout": ${value}}`)
    expect(decoded.heartbeat.timeout).toBe(minutes)
    expect(decoded.repairs).toEqual(repairs)
  })

  it.each([["1", 1], ["1.5", 1.5], ["-2", -2], [".5", 0.5], ["1e3", 1000], [" 7 ", 7]])("numberFrom(%j) = %s", (text, value) => {
    expect(numberFrom(text)).toBe(value)
  })

  it.each(["", "abc", "1,5", "0x10", "Infinity", "1_000"])("numberFrom(%j) is not a number", (text) => {
    expect(numberFrom(text)).toBeUndefined()
  })
})

describe("deregister: true, 1, yes, true deregister; junk is a plain heartbeat, reported", () => {
  it.each([
    ["true", "yes"],
    ["1", "yes"],
    ['"yes"', "yes"],
    ['"true"', "yes"],
    ['"YES"', "yes"],
    ['" True "', "yes"],
    ['"1"', "yes"],
    ["false", "no"],
    ["0", "no"],
    ["null", "no"],
    ['"no"', "no"],
    ['"false"', "no"],
    ['"0"', "no"],
    ['""', "no"],
    ['"maybe"', "unrecognised"],
    ["2", "unrecognised"],
    ['"on"', "unrecognised"],
    ["[1]", "unrecognised"],
    ["{}", "unrecognised"]
  ])("%s: %s", (value, reading) => {
    expect(readDeregister(JSON.parse(value))).toBe(reading)
    const decoded = accepted(`{"token": "t", "resource": "r", "deregister": ${value}}`)
    expect(decoded.heartbeat.deregister).toBe(reading === "yes")
    expect(decoded.repairs).toEqual(reading === "unrecognised" ? ["deregister_unrecognised"] : [])
  })
})

describe("payload (issue 13.1): one pass, at most 32 levels and 1,000 keys and items", () => {
  const nested = (levels: number): Record<string, unknown> => (levels <= 1 ? { leaf: 1 } : { next: nested(levels - 1) })
  const nestedList = (levels: number): unknown => (levels <= 1 ? [1] : [nestedList(levels - 1)])

  it("null is kept as null; absent stays absent", () => {
    expect(accepted('{"token": "t", "resource": "r", "payload": null}').heartbeat.payload).toBeNull()
    expect(accepted('{"token": "t", "resource": "r"}').heartbeat.payload).toBeNull()
  })

  it.each([
    [nested(maxPayloadDepth), undefined],
    [nested(maxPayloadDepth + 1), "payload_too_deep"],
    [{ list: nestedList(maxPayloadDepth - 1) }, undefined],
    [{ list: nestedList(maxPayloadDepth) }, "payload_too_deep"],
    [Object.fromEntries(Array.from({ length: maxPayloadEntries }, (_, i) => [`k${i}`, i])), undefined],
    [Object.fromEntries(Array.from({ length: maxPayloadEntries + 1 }, (_, i) => [`k${i}`, i])), "payload_too_large"],
    [{ list: Array.from({ length: maxPayloadEntries - 1 }, (_, i) => i) }, undefined],
    [{ list: Array.from({ length: maxPayloadEntries }, (_, i) => i) }, "payload_too_large"],
    // Spread over levels, counted in all.
    [{ a: { b: Array(500).fill(0) }, c: Array(498).fill({}) }, "payload_too_large"],
    [{ a: { b: Array(500).fill(0) }, c: Array(497).fill({}) }, undefined]
  ])("bounds %#: %s", (payload, problem) => {
    expect(payloadBoundsProblem(payload)).toBe(problem)
    const decoded = frame(JSON.stringify({ token: "t", resource: "r", payload }))
    expect(decoded.ok ? undefined : decoded.rejection.reason).toBe(problem)
  })

  it("whatever passes decode serializes (the 5,000-deep payload of issue 13 is refused first)", () => {
    const hostile = `{"token": "t", "resource": "r", "payload": ${"{\"a\":".repeat(5000)}1${"}".repeat(5000)}}`
    expect(rejection(hostile).reason).toBe("payload_too_deep")
    const decoded = accepted(JSON.stringify({ token: "t", resource: "r", payload: nested(maxPayloadDepth) }))
    expect(() => JSON.stringify(decoded.heartbeat)).not.toThrow()
  })

  it.each(['"text"', "[1, 2]", "5", "true"])("a payload that is not an object (%s) is an invalid field", (payload) => {
    expect(rejection(`{"token": "t", "resource": "r", "payload": ${payload}}`)).toEqual({ reason: "invalid_field", detail: "payload: expected an object", ack: false })
  })
})

describe("the decoded heartbeat", () => {
  it("has one shape, with every field, for the common case", () => {
    expect(accepted('{"token": "t", "resource": "r", "payload": {"uptime": 5}, "timeout": 2}').heartbeat).toEqual({
      token: "t",
      resource: "r",
      timeout: 2,
      payload: { uptime: 5 },
      deregister: false
    })
  })

  it("interpretHeartbeat never repeats the input in a failure", () => {
    const result = interpretHeartbeat({ token: "s3cr3t", resource: "evil\u202e" }, "")
    expect(result).toEqual({ ok: false, problem: "forbidden_character", detail: "resource: contains a control or bidi-override character" })
  })
})
