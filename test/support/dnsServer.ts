/**
 * A small authoritative DNS server for tests, on a real UDP socket: it takes RFC 2136 UPDATEs for
 * one zone only when they carry a valid TSIG (RFC 8945) made with its key, applies them (delete a
 * record set, add a record), signs its answer, and answers A/AAAA queries from what it holds.
 *
 * Written apart from src/dyndns on purpose: the messages are read with dns-packet and the TSIG is
 * checked by this file's own code, so a mistake shared by the receiver's encoder and checker cannot
 * pass here (and test/tools/dyndns.bind.check.ts runs the same exchange against BIND 9).
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { createSocket, type RemoteInfo, type Socket } from "node:dgram"
import dnsPacket from "dns-packet"

/** dns-packet's name and AAAA codecs, which its published types leave out. */
const codec = dnsPacket as unknown as {
  readonly name: {
    encode: (name: string) => Buffer
    decode: ((buffer: Buffer, offset: number) => string) & { bytes: number }
    encodingLength: (name: string) => number
  }
  readonly aaaa: { decode: (buffer: Buffer, offset?: number) => string }
}

export interface FixtureKey {
  readonly name: string
  readonly algorithm: "hmac-sha256"
  readonly secretBase64: string
}

export interface ReceivedUpdate {
  /** What the server answered: NOERROR, NOTAUTH (bad signature), NOTZONE, ... */
  readonly rcode: string
  readonly tsigError?: string
  readonly changes: ReadonlyArray<{ readonly op: "delete" | "add"; readonly name: string; readonly type: string; readonly ttl: number; readonly data?: string }>
}

const wireName = (name: string) => codec.name.encode(name.toLowerCase())

const u16 = (value: number) => Buffer.from([value >> 8 & 255, value & 255])
const u32 = (value: number) => Buffer.from([value >>> 24 & 255, value >>> 16 & 255, value >>> 8 & 255, value & 255])
const u48 = (value: number) => Buffer.concat([u16(Math.floor(value / 2 ** 32)), u32(value % 2 ** 32)])

interface RawRecord {
  readonly name: string
  readonly type: number
  readonly klass: number
  readonly ttl: number
  readonly rdata: Buffer
  readonly start: number
}

/** Reads the records after the header and zone section (dns-packet misreads a typed record with no RDATA, as UPDATE deletes have). */
const readRecords = (message: Buffer) => {
  let offset = 12
  const zoneCount = message.readUInt16BE(4)
  const zones: Array<{ name: string; type: number }> = []
  for (let index = 0; index < zoneCount; index++) {
    const name = codec.name.decode(message, offset)
    offset += codec.name.decode.bytes
    zones.push({ name, type: message.readUInt16BE(offset) })
    offset += 4
  }
  const sections = [message.readUInt16BE(6), message.readUInt16BE(8), message.readUInt16BE(10)]
  const records: Array<Array<RawRecord>> = []
  for (const count of sections) {
    const list: Array<RawRecord> = []
    for (let index = 0; index < count; index++) {
      const start = offset
      const name = codec.name.decode(message, offset)
      offset += codec.name.decode.bytes
      const type = message.readUInt16BE(offset)
      const klass = message.readUInt16BE(offset + 2)
      const ttl = message.readUInt32BE(offset + 4)
      const length = message.readUInt16BE(offset + 8)
      const rdata = message.subarray(offset + 10, offset + 10 + length)
      offset += 10 + length
      list.push({ name: name.toLowerCase(), type, klass, ttl, rdata, start })
    }
    records.push(list)
  }
  return { zones, prerequisites: records[0]!, updates: records[1]!, additionals: records[2]! }
}

const typeName = (code: number) => (code === 1 ? "A" : code === 28 ? "AAAA" : `TYPE${code}`)

export const startDnsUpdateServer = async (options: { zone: string; key: FixtureKey; host?: string; dropFirst?: number }) => {
  const zone = options.zone.toLowerCase()
  const secret = Buffer.from(options.key.secretBase64, "base64")
  const records = new Map<string, Array<{ data: string; ttl: number }>>()
  const updates: Array<ReceivedUpdate> = []
  let toDrop = options.dropFirst ?? 0
  let dropped = 0
  const socket: Socket = createSocket(options.host?.includes(":") ? "udp6" : "udp4")

  const mac = (parts: ReadonlyArray<Buffer>) => {
    const hmac = createHmac("sha256", secret)
    for (const part of parts) hmac.update(part)
    return hmac.digest()
  }
  const variables = (time: number, fudge: number, error: number) =>
    Buffer.concat([wireName(options.key.name), u16(255), u32(0), wireName(options.key.algorithm), u48(time), u16(fudge), u16(error), u16(0)])

  /** The answer: header, the zone section echoed, and a TSIG over the request's MAC (RFC 8945 5.3). */
  const answer = (request: Buffer, rcode: number, requestMac: Buffer | undefined, tsigError = 0) => {
    codec.name.decode(request, 12)
    const zoneEnd = 12 + codec.name.decode.bytes + 4
    const body = Buffer.concat([
      request.subarray(0, 2),
      u16(0x8000 | (5 << 11) | rcode),
      u16(1), u16(0), u16(0), u16(0),
      request.subarray(12, zoneEnd)
    ])
    const time = Math.floor(Date.now() / 1000)
    const signature = requestMac === undefined || tsigError !== 0
      ? Buffer.alloc(0)
      : mac([u16(requestMac.length), requestMac, body, variables(time, 300, 0)])
    const rdata = Buffer.concat([wireName(options.key.algorithm), u48(time), u16(300), u16(signature.length), signature, request.subarray(0, 2), u16(tsigError), u16(0)])
    const tsig = Buffer.concat([wireName(options.key.name), u16(250), u16(255), u32(0), u16(rdata.length), rdata])
    const out = Buffer.concat([body, tsig])
    out.writeUInt16BE(1, 10)
    return out
  }

  const handleUpdate = (message: Buffer, from: RemoteInfo) => {
    const parsed = readRecords(message)
    const tsig = parsed.additionals[parsed.additionals.length - 1]
    if (tsig === undefined || tsig.type !== 250) {
      updates.push({ rcode: "REFUSED", changes: [] })
      return socket.send(answer(message, 5, undefined), from.port, from.address)
    }
    // The TSIG RDATA: algorithm, time (48 bits), fudge, MAC size, MAC, original id, error, other.
    const algorithm = codec.name.decode(tsig.rdata, 0)
    let at = codec.name.decode.bytes
    const time = tsig.rdata.readUInt16BE(at) * 2 ** 32 + tsig.rdata.readUInt32BE(at + 2)
    const fudge = tsig.rdata.readUInt16BE(at + 6)
    const macSize = tsig.rdata.readUInt16BE(at + 8)
    const given = tsig.rdata.subarray(at + 10, at + 10 + macSize)
    at += 10 + macSize
    const unsigned = Buffer.from(message.subarray(0, tsig.start))
    unsigned.writeUInt16BE(tsig.rdata.readUInt16BE(at), 0)
    unsigned.writeUInt16BE(parsed.additionals.length - 1, 10)
    const expected = mac([unsigned, variables(time, fudge, 0)])
    if (tsig.name !== options.key.name || algorithm.toLowerCase() !== options.key.algorithm || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      updates.push({ rcode: "NOTAUTH", tsigError: tsig.name !== options.key.name ? "BADKEY" : "BADSIG", changes: [] })
      return socket.send(answer(message, 9, given, tsig.name !== options.key.name ? 17 : 16), from.port, from.address)
    }
    if (parsed.zones.length !== 1 || parsed.zones[0]!.name.toLowerCase() !== zone || parsed.zones[0]!.type !== 6) {
      updates.push({ rcode: "NOTZONE", changes: [] })
      return socket.send(answer(message, 10, given), from.port, from.address)
    }
    const changes: Array<ReceivedUpdate["changes"][number]> = []
    for (const record of parsed.updates) {
      const key = `${record.name}/${typeName(record.type)}`
      if (record.klass === 255 && record.rdata.length === 0) {
        records.delete(key)
        changes.push({ op: "delete", name: record.name, type: typeName(record.type), ttl: record.ttl })
      } else if (record.klass === 1) {
        const data = record.type === 1 ? [...record.rdata].join(".") : codec.aaaa.decode(Buffer.concat([u16(16), record.rdata]))
        records.set(key, [...(records.get(key) ?? []).filter((item) => item.data !== data), { data, ttl: record.ttl }])
        changes.push({ op: "add", name: record.name, type: typeName(record.type), ttl: record.ttl, data })
      }
    }
    updates.push({ rcode: "NOERROR", changes })
    socket.send(answer(message, 0, given), from.port, from.address)
  }

  const handleQuery = (message: Buffer, from: RemoteInfo) => {
    const query = dnsPacket.decode(message)
    const question = query.questions?.[0]
    const found = question === undefined ? [] : records.get(`${question.name.toLowerCase()}/${question.type}`) ?? []
    socket.send(dnsPacket.encode({
      id: query.id,
      type: "response",
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: query.questions ?? [],
      answers: found.map((item) => ({ name: question!.name, type: question!.type as "A", ttl: item.ttl, data: item.data }))
    }), from.port, from.address)
  }

  socket.on("message", (message, from) => {
    try {
      const opcode = message.readUInt16BE(2) >> 11 & 15
      if (opcode === 5 && toDrop > 0) {
        toDrop--
        dropped++
        return
      }
      if (opcode === 5) handleUpdate(message, from)
      else handleQuery(message, from)
    } catch {
      // A test server: a message it cannot read gets no answer.
    }
  })
  await new Promise<void>((resolveBind) => socket.bind(0, options.host ?? "127.0.0.1", () => resolveBind()))
  return {
    port: socket.address().port,
    updates,
    dropped: () => dropped,
    close: () => new Promise<void>((resolveClose) => socket.close(() => resolveClose()))
  }
}

/** Asks a DNS server over UDP for `name`'s records of `type`; the addresses answered, sorted. */
export const queryAddresses = (host: string, port: number, name: string, type: "A" | "AAAA"): Promise<Array<string>> =>
  new Promise((resolveQuery, reject) => {
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4")
    const id = Math.floor(Math.random() * 65536)
    const timer = setTimeout(() => {
      socket.close()
      reject(new Error(`no answer from ${host}:${port}`))
    }, 5000)
    socket.on("message", (message) => {
      const answer = dnsPacket.decode(message)
      if (answer.id !== id) return
      clearTimeout(timer)
      socket.close()
      resolveQuery((answer.answers ?? []).filter((record) => record.type === type).map((record) => String((record as { data?: unknown }).data)).sort())
    })
    socket.send(dnsPacket.encode({ id, type: "query", flags: 0, questions: [{ name, type, class: "IN" }] }), port, host)
  })
