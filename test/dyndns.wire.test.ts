import { afterAll, describe, expect, it } from "vitest"
import { Effect, Redacted } from "effect"
import { createSocket } from "node:dgram"
import dnsPacket from "dns-packet"
import type { DyndnsSettings, TsigKey } from "../src/config/dyndnsConfig.ts"
import { sendDnsUpdate } from "../src/dyndns/dnsClient.ts"
import { addressBytes, answerTsigProblem, encodeUpdate, readAnswer, signMessage } from "../src/dyndns/dnsUpdate.ts"
import { startDnsUpdateServer } from "./support/dnsServer.ts"

const zone = "dyn.example.test"
const secretBase64 = "q1Zz4DaT3YqJ0p7gq6cC8qQb4bYI0l8mGfJXx4rO2Q8="
const key: TsigKey = { name: "hbm-update", algorithm: "hmac-sha256", secret: Redacted.make(new Uint8Array(Buffer.from(secretBase64, "base64"))) }
const settings = (port: number): DyndnsSettings => ({ zone, name: `home.${zone}`, server: { host: "127.0.0.1", port }, tsigKeyFile: "unused", ttl: 60 })

describe("the UPDATE message and its TSIG on the wire", () => {
  it("is an UPDATE for the zone (read by dns-packet), with the TSIG as its last additional record", () => {
    const message = encodeUpdate({ id: 4660, zone, name: `home.${zone}`, type: "AAAA", address: "2001:db8::7", ttl: 60 })
    // The header and zone section alone (dns-packet misreads the delete's empty RDATA: see test/support/dnsServer.ts).
    const head = Buffer.from(message.subarray(0, 12 + 18 + 4))
    head.writeUInt16BE(0, 8)
    const header = dnsPacket.decode(head)
    expect(header).toMatchObject({ id: 4660, type: "query", opcode: "UPDATE", questions: [{ name: zone, type: "SOA", class: "IN" }] })
    expect([message[6], message[7], message[8], message[9], message[10], message[11]]).toEqual([0, 0, 0, 2, 0, 0])
    const signed = signMessage(message, key, 1_700_000_000)
    const read = readAnswer(signed.bytes)
    expect(read.tsig).toMatchObject({ offset: message.length, keyName: "hbm-update", algorithm: "hmac-sha256", timeSigned: 1_700_000_000, fudge: 300, originalId: 4660, error: 0 })
    expect(Buffer.from(read.tsig!.mac).equals(Buffer.from(signed.mac))).toBe(true)
    expect(signed.mac).toHaveLength(32)
  })

  it.each([
    ["2001:db8::7", "20010db8000000000000000000000007"],
    ["::1", "00000000000000000000000000000001"],
    ["fe80::", "fe800000000000000000000000000000"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"]
  ])("AAAA data of %s", (address, hex) => {
    expect(Buffer.from(addressBytes(address, "AAAA")).toString("hex")).toBe(hex)
  })

  // Captured on the wire between BIND 9.18's nsupdate and named (a throwaway key made by
  // tsig-keygen for this vector): `update delete home.dyn.example.test A`, `update add
  // home.dyn.example.test 60 A 192.0.2.77`, `send`, and named's NOERROR answer.
  const bind = {
    secretBase64: "gxpdmJN01Mc8zWE74gO1yl6dsg7j7ncffy8ALqgyVIc=",
    request: "e503280000010000000200010364796e076578616d706c650474657374000006000104686f6d65c00c000100ff000000000000c022000100010000003c0004c000024d0a68626d2d7570646174650000fa00ff00000000003d0b686d61632d7368613235360000006b0f1a22012c002017eaa09f5b7da2c301ffa60fc5acab89fd36a7d888e65e13c1c2787465863812e50300000000",
    response: "e503a80000010000000000010364796e076578616d706c65047465737400000600010a68626d2d7570646174650000fa00ff00000000003d0b686d61632d7368613235360000006b0f1a22012c0020ef8a096488d085e87c044b4851d14115866283b7e277fb268fadb89b3702dc46e50300000000"
  }
  const bindKey: TsigKey = { name: "hbm-update", algorithm: "hmac-sha256", secret: Redacted.make(new Uint8Array(Buffer.from(bind.secretBase64, "base64"))) }

  it("signs as BIND's nsupdate does (the same MAC, the same TSIG record) and accepts named's signed answer", () => {
    const request = new Uint8Array(Buffer.from(bind.request, "hex"))
    const sent = readAnswer(request)
    expect(sent.tsig).toMatchObject({ keyName: "hbm-update", algorithm: "hmac-sha256", fudge: 300, error: 0 })
    const unsigned = request.slice(0, sent.tsig!.offset)
    unsigned[11] = unsigned[11]! - 1
    const ours = signMessage(unsigned, bindKey, sent.tsig!.timeSigned, sent.tsig!.fudge)
    expect(Buffer.from(ours.bytes).toString("hex")).toBe(bind.request)

    const response = new Uint8Array(Buffer.from(bind.response, "hex"))
    const answer = readAnswer(response)
    expect({ id: answer.id, isResponse: answer.isResponse, opcode: answer.opcode, rcode: answer.rcode }).toEqual({ id: sent.id, isResponse: true, opcode: 5, rcode: 0 })
    const signedAt = answer.tsig!.timeSigned
    expect(answerTsigProblem(response, answer, bindKey, sent.tsig!.mac, signedAt)).toBeUndefined()
    // Another request's MAC, a changed byte, another key, a clock too far off: each refused.
    expect(answerTsigProblem(response, answer, bindKey, ours.mac.map((byte) => byte ^ 1), signedAt)).toBe("the answer's TSIG signature does not match (BADSIG)")
    const tampered = response.slice()
    tampered[3] = 5
    expect(answerTsigProblem(tampered, readAnswer(tampered), bindKey, sent.tsig!.mac, signedAt)).toBe("the answer's TSIG signature does not match (BADSIG)")
    expect(answerTsigProblem(response, answer, key, sent.tsig!.mac, signedAt)).toBe("the answer's TSIG signature does not match (BADSIG)")
    expect(answerTsigProblem(response, answer, bindKey, sent.tsig!.mac, signedAt + 301)).toBe("the answer's TSIG time is outside its fudge (BADTIME: check both clocks)")
  })

  const sockets: Array<{ close: () => unknown }> = []
  afterAll(async () => {
    for (const socket of sockets) await socket.close()
  })

  it("succeeds only on a signed NOERROR; says why otherwise, and whether it is worth retrying", async () => {
    const good = await startDnsUpdateServer({ zone, key: { name: "hbm-update", algorithm: "hmac-sha256", secretBase64 } })
    sockets.push(good)
    await Effect.runPromise(sendDnsUpdate(settings(good.port), key, "192.0.2.1", "A"))
    expect(good.updates.map((update) => update.rcode)).toEqual(["NOERROR"])

    // A server that does not know the key: BADKEY, not retried.
    const otherKey = await startDnsUpdateServer({ zone, key: { name: "another-key", algorithm: "hmac-sha256", secretBase64 } })
    sockets.push(otherKey)
    const badKey = await Effect.runPromise(Effect.flip(sendDnsUpdate(settings(otherKey.port), key, "192.0.2.1", "A")))
    expect({ reason: badKey.reason, retryable: badKey.retryable }).toEqual({ reason: "the server refused the key hbm-update: BADKEY", retryable: false })

    // The wrong zone: NOTZONE, not retried.
    const wrongZone = await Effect.runPromise(Effect.flip(sendDnsUpdate({ ...settings(good.port), zone: "other.test", name: "home.other.test" }, key, "192.0.2.1", "A")))
    expect({ reason: wrongZone.reason, retryable: wrongZone.retryable }).toEqual({ reason: "the server answered NOTZONE", retryable: false })

    // Someone else answering NOERROR without the key's signature: not taken as done.
    const spoofer = createSocket("udp4")
    sockets.push(spoofer)
    spoofer.on("message", (message, from) => {
      const answer = Buffer.from(message.subarray(0, 12 + 18 + 4))
      answer.writeUInt16BE(0x8000 | 5 << 11, 2)
      answer.writeUInt16BE(0, 8)
      answer.writeUInt16BE(0, 10)
      spoofer.send(answer, from.port, from.address)
    })
    await new Promise<void>((bound) => spoofer.bind(0, "127.0.0.1", () => bound()))
    const unsigned = await Effect.runPromise(Effect.flip(sendDnsUpdate(settings(spoofer.address().port), key, "192.0.2.1", "A")))
    expect({ reason: unsigned.reason, retryable: unsigned.retryable }).toEqual({ reason: "the answer is not signed (no TSIG)", retryable: true })
  })
})
