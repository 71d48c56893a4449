import { afterAll, describe, expect, it } from "vitest"
import { Effect, Redacted } from "effect"
import { createSocket } from "node:dgram"
import dnsPacket from "dns-packet"
import type { DyndnsSettings, TsigKey } from "../src/config/dyndnsConfig.ts"
import { sendDnsUpdate } from "../src/dyndns/dnsClient.ts"
import { addressBytes, encodeUpdate, readAnswer, signMessage } from "../src/dyndns/dnsUpdate.ts"
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
