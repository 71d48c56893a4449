/**
 * The DNS UPDATE message (RFC 2136) that replaces a name's A or AAAA record set, signed with TSIG
 * (RFC 8945) over node:crypto, and the check of the server's answer (RCODE, and its TSIG against
 * the request's MAC). Pure functions over bytes.
 *
 * Written here rather than with an npm DNS library: dns-packet (the well-kept one) cannot encode the
 * delete of a typed record set (class ANY, empty RDATA: RFC 2136 2.5.2) nor TSIG, and the TSIG MAC
 * needs the exact bytes of the message and the canonical wire form of the names anyway. The tests
 * read these messages with dns-packet, independently, and against BIND 9.
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import * as Redacted from "effect/Redacted"
import { tsigAlgorithms, type TsigKey } from "../config/dyndnsConfig.ts"
import type { AddressFamily } from "../monitor/dyndnsRules.ts"

const typeCodes = { A: 1, SOA: 6, AAAA: 28, TSIG: 250 } as const
const classIn = 1
const classAny = 255
const opcodeUpdate = 5
/** Seconds of clock difference the server may see between our TSIG time and its own (BIND's and nsupdate's default). */
export const tsigFudgeSeconds = 300

export const rcodeNames: Readonly<Record<number, string>> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  6: "YXDOMAIN",
  7: "YXRRSET",
  8: "NXRRSET",
  9: "NOTAUTH",
  10: "NOTZONE"
}

export const tsigErrorNames: Readonly<Record<number, string>> = { 16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 22: "BADTRUNC" }

/** A name in wire form, uncompressed; names here are canonical already (lower case, no trailing dot). */
export const encodeName = (name: string): Uint8Array => {
  const labels = name === "" ? [] : name.split(".")
  const bytes = new Uint8Array(labels.reduce((sum, label) => sum + label.length + 1, 1))
  let offset = 0
  for (const label of labels) {
    bytes[offset++] = label.length
    for (let index = 0; index < label.length; index++) bytes[offset++] = label.charCodeAt(index)
  }
  return bytes
}

/** The algorithm's name on the wire (hmac-md5 keeps its old long name, RFC 8945 6). */
const algorithmName = (key: TsigKey) => key.algorithm === "hmac-md5" ? "hmac-md5.sig-alg.reg.int" : key.algorithm

/** An IPv4 or IPv6 address (canonical text) as RDATA. */
export const addressBytes = (address: string, type: AddressFamily): Uint8Array => {
  if (type === "A") return Uint8Array.from(address.split(".").map(Number))
  const [head, tail] = address.includes("::") ? address.split("::") as [string, string] : [address, undefined]
  const groups = (part: string | undefined) => part === undefined || part === "" ? [] : part.split(":")
  const before = groups(head)
  const after = groups(tail)
  const all = tail === undefined ? before : [...before, ...Array(8 - before.length - after.length).fill("0"), ...after]
  const bytes = new Uint8Array(16)
  all.forEach((group, index) => {
    const value = parseInt(group, 16)
    bytes[index * 2] = value >> 8
    bytes[index * 2 + 1] = value & 255
  })
  return bytes
}

class Writer {
  private readonly parts: Array<Uint8Array> = []
  private length = 0
  bytes(part: Uint8Array) {
    this.parts.push(part)
    this.length += part.length
    return this
  }
  u16(value: number) {
    return this.bytes(Uint8Array.of(value >> 8 & 255, value & 255))
  }
  u32(value: number) {
    return this.bytes(Uint8Array.of(value >>> 24 & 255, value >>> 16 & 255, value >>> 8 & 255, value & 255))
  }
  u48(value: number) {
    return this.u16(Math.floor(value / 2 ** 32)).u32(value % 2 ** 32)
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.length)
    let offset = 0
    for (const part of this.parts) {
      out.set(part, offset)
      offset += part.length
    }
    return out
  }
}

export interface UpdateRequest {
  readonly id: number
  readonly zone: string
  readonly name: string
  readonly type: AddressFamily
  readonly address: string
  readonly ttl: number
}

/**
 * The unsigned UPDATE message: zone section (the zone's SOA, class IN), no prerequisites, and two
 * updates: delete the name's record set of this type (class ANY, TTL 0, no RDATA), then add the
 * new address with the TTL.
 */
export const encodeUpdate = (request: UpdateRequest): Uint8Array => {
  const name = encodeName(request.name)
  const rdata = addressBytes(request.address, request.type)
  return new Writer()
    .u16(request.id).u16(opcodeUpdate << 11).u16(1).u16(0).u16(2).u16(0)
    .bytes(encodeName(request.zone)).u16(typeCodes.SOA).u16(classIn)
    .bytes(name).u16(typeCodes[request.type]).u16(classAny).u32(0).u16(0)
    .bytes(name).u16(typeCodes[request.type]).u16(classIn).u32(request.ttl).u16(rdata.length).bytes(rdata)
    .done()
}

const hmac = (key: TsigKey, parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const mac = createHmac(tsigAlgorithms[key.algorithm], Redacted.value(key.secret))
  for (const part of parts) mac.update(part)
  return new Uint8Array(mac.digest())
}

/** The TSIG variables (RFC 8945 4.3.3) that follow the message in the MAC's input. */
const tsigVariables = (key: TsigKey, timeSigned: number, fudge: number, error: number, other: Uint8Array) =>
  new Writer()
    .bytes(encodeName(key.name)).u16(classAny).u32(0)
    .bytes(encodeName(algorithmName(key))).u48(timeSigned).u16(fudge).u16(error).u16(other.length).bytes(other)
    .done()

export interface SignedMessage {
  readonly bytes: Uint8Array
  /** The request's MAC: the answer's MAC covers it. */
  readonly mac: Uint8Array
}

/** The message with its TSIG record appended (ARCOUNT + 1); `timeSigned` in seconds since the epoch. */
export const signMessage = (message: Uint8Array, key: TsigKey, timeSigned: number, fudge = tsigFudgeSeconds): SignedMessage => {
  const mac = hmac(key, [message, tsigVariables(key, timeSigned, fudge, 0, new Uint8Array(0))])
  const id = message[0]! << 8 | message[1]!
  const rdata = new Writer()
    .bytes(encodeName(algorithmName(key))).u48(timeSigned).u16(fudge).u16(mac.length).bytes(mac)
    .u16(id).u16(0).u16(0)
    .done()
  const signed = new Writer()
    .bytes(message)
    .bytes(encodeName(key.name)).u16(typeCodes.TSIG).u16(classAny).u32(0).u16(rdata.length).bytes(rdata)
    .done()
  const arcount = (signed[10]! << 8 | signed[11]!) + 1
  signed[10] = arcount >> 8
  signed[11] = arcount & 255
  return { bytes: signed, mac }
}

/** A message that cannot be read: where and why. */
export class MalformedMessage extends Error {}

const u16 = (bytes: Uint8Array, offset: number) => {
  if (offset + 2 > bytes.length) throw new MalformedMessage("truncated")
  return bytes[offset]! << 8 | bytes[offset + 1]!
}

/** The offset after a (possibly compressed) name, and the name read. */
const readName = (bytes: Uint8Array, start: number): { readonly end: number; readonly name: string } => {
  const labels: Array<string> = []
  let offset = start
  let end: number | undefined
  for (let jumps = 0; ; ) {
    if (offset >= bytes.length) throw new MalformedMessage("truncated name")
    const length = bytes[offset]!
    if (length === 0) {
      end ??= offset + 1
      break
    }
    if ((length & 0xc0) === 0xc0) {
      if (++jumps > 64) throw new MalformedMessage("name pointer loop")
      end ??= offset + 2
      offset = (length & 0x3f) << 8 | bytes[offset + 1]!
      continue
    }
    if ((length & 0xc0) !== 0 || offset + 1 + length > bytes.length) throw new MalformedMessage("bad label")
    labels.push(String.fromCharCode(...bytes.subarray(offset + 1, offset + 1 + length)).toLowerCase())
    offset += 1 + length
  }
  return { end, name: labels.join(".") }
}

export interface TsigRecord {
  /** Where the TSIG record starts (the message without it ends there). */
  readonly offset: number
  readonly keyName: string
  readonly algorithm: string
  readonly timeSigned: number
  readonly fudge: number
  readonly mac: Uint8Array
  readonly originalId: number
  readonly error: number
  readonly other: Uint8Array
}

export interface DnsAnswer {
  readonly id: number
  readonly isResponse: boolean
  readonly opcode: number
  readonly rcode: number
  readonly tsig: TsigRecord | undefined
}

/** Reads a DNS message's header and its TSIG record (the last additional record), if any. */
export const readAnswer = (bytes: Uint8Array): DnsAnswer => {
  if (bytes.length < 12) throw new MalformedMessage("shorter than a header")
  const flags = u16(bytes, 2)
  const counts = [u16(bytes, 4), u16(bytes, 6), u16(bytes, 8), u16(bytes, 10)] as const
  let offset = 12
  for (let index = 0; index < counts[0]; index++) offset = readName(bytes, offset).end + 4
  const records = counts[1] + counts[2] + counts[3]
  let tsig: TsigRecord | undefined
  for (let index = 0; index < records; index++) {
    const start = offset
    const owner = readName(bytes, offset)
    offset = owner.end
    const type = u16(bytes, offset)
    const rdlength = u16(bytes, offset + 8)
    const rdata = offset + 10
    offset = rdata + rdlength
    if (offset > bytes.length) throw new MalformedMessage("truncated record")
    if (type !== typeCodes.TSIG) continue
    if (index !== records - 1 || counts[3] === 0) throw new MalformedMessage("TSIG is not the last additional record")
    const algorithm = readName(bytes, rdata)
    let at = algorithm.end
    const timeSigned = u16(bytes, at) * 2 ** 32 + (u16(bytes, at + 2) * 65536 + u16(bytes, at + 4))
    const fudge = u16(bytes, at + 6)
    const macLength = u16(bytes, at + 8)
    at += 10
    const mac = bytes.slice(at, at + macLength)
    at += macLength
    const originalId = u16(bytes, at)
    const error = u16(bytes, at + 2)
    const otherLength = u16(bytes, at + 4)
    const other = bytes.slice(at + 6, at + 6 + otherLength)
    if (at + 6 + otherLength !== offset) throw new MalformedMessage("bad TSIG record length")
    tsig = { offset: start, keyName: owner.name, algorithm: algorithm.name, timeSigned, fudge, mac, originalId, error, other }
  }
  return { id: u16(bytes, 0), isResponse: (flags & 0x8000) !== 0, opcode: flags >> 11 & 15, rcode: flags & 15, tsig }
}

/**
 * Checks the TSIG of a server's answer to a signed request (RFC 8945 5.3): same key and algorithm,
 * the MAC over the request's MAC, the answer without its TSIG (original ID, ARCOUNT - 1) and the
 * TSIG variables; its time within the fudge of `nowSeconds`. Returns the problem, or undefined.
 */
export const answerTsigProblem = (
  bytes: Uint8Array,
  answer: DnsAnswer,
  key: TsigKey,
  requestMac: Uint8Array,
  nowSeconds: number
): string | undefined => {
  const tsig = answer.tsig
  if (tsig === undefined) return "the answer is not signed (no TSIG)"
  if (tsig.keyName !== key.name || tsig.algorithm !== algorithmName(key)) return `the answer is signed with another key (${tsig.keyName})`
  if (tsig.error !== 0) return `the server refused our signature: ${tsigErrorNames[tsig.error] ?? `TSIG error ${tsig.error}`}`
  const unsigned = bytes.slice(0, tsig.offset)
  unsigned[0] = tsig.originalId >> 8
  unsigned[1] = tsig.originalId & 255
  const arcount = (unsigned[10]! << 8 | unsigned[11]!) - 1
  unsigned[10] = arcount >> 8
  unsigned[11] = arcount & 255
  const expected = hmac(key, [
    new Writer().u16(requestMac.length).bytes(requestMac).done(),
    unsigned,
    tsigVariables(key, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other)
  ])
  if (tsig.mac.length !== expected.length || !timingSafeEqual(tsig.mac, expected)) return "the answer's TSIG signature does not match (BADSIG)"
  if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge) return "the answer's TSIG time is outside its fudge (BADTIME: check both clocks)"
  return undefined
}
