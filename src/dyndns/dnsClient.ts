/**
 * Sends one signed DNS UPDATE over UDP and reads the server's answer: a socket per attempt (a new
 * source port each time), the answer taken only from the server's address and port with the
 * request's ID, the attempt ended by the caller's timeout (the socket is closed on interruption).
 */
import { randomInt } from "node:crypto"
import { createSocket } from "node:dgram"
import { lookup } from "node:dns/promises"
import { isIP } from "node:net"
import { Clock, Effect, Schema } from "effect"
import type { DyndnsSettings, TsigKey } from "../config/dyndnsConfig.ts"
import type { AddressFamily } from "../monitor/dyndnsRules.ts"
import { answerTsigProblem, encodeUpdate, MalformedMessage, rcodeNames, readAnswer, signMessage, tsigErrorNames } from "./dnsUpdate.ts"

export class DnsUpdateError extends Schema.TaggedError<DnsUpdateError>()("DnsUpdateError", {
  reason: Schema.String,
  /** Worth trying again (no answer, a server failure); not for a refusal, which the same request gets again. */
  retryable: Schema.Boolean
}) {
  override get message(): string {
    return this.reason
  }
}

/** Answers that the same request would get again: a configuration problem (zone, key, server's policy). */
const finalRcodes = new Set([1, 4, 5, 9, 10])

/** Where the server is: an address literal as it is, a host name looked up (first address). */
const resolveServer = (host: string) =>
  isIP(host) !== 0
    ? Effect.succeed({ address: host, family: isIP(host) as 4 | 6 })
    : Effect.tryPromise({
      try: () => lookup(host),
      catch: (error) => new DnsUpdateError({ reason: `cannot resolve the server ${host}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, retryable: true })
    }).pipe(Effect.map((found) => ({ address: found.address, family: found.family as 4 | 6 })))

/** One UDP exchange: the first datagram from the server with `id` (others are ignored). */
const exchange = (server: { address: string; family: 4 | 6 }, port: number, request: Uint8Array, id: number) =>
  Effect.callback<Uint8Array, DnsUpdateError>((resume) => {
    const socket = createSocket(server.family === 6 ? "udp6" : "udp4")
    let done = false
    const finish = (effect: Effect.Effect<Uint8Array, DnsUpdateError>) => {
      if (done) return
      done = true
      socket.close()
      resume(effect)
    }
    socket.on("error", (error) => finish(Effect.fail(new DnsUpdateError({ reason: `socket: ${(error as NodeJS.ErrnoException).code ?? error.message}`, retryable: true }))))
    socket.on("message", (datagram, from) => {
      if (from.port !== port || datagram.length < 2 || (datagram[0]! << 8 | datagram[1]!) !== id) return
      finish(Effect.succeed(new Uint8Array(datagram)))
    })
    socket.send(request, port, server.address, (error) => {
      if (error) finish(Effect.fail(new DnsUpdateError({ reason: `cannot send to ${server.address}:${port}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, retryable: true })))
    })
    return Effect.sync(() => {
      if (!done) {
        done = true
        socket.close()
      }
    })
  })

/**
 * Replaces `settings.name`'s A or AAAA record set with `address` on `settings.server`, signed with
 * `key`. Succeeds when the server answered NOERROR with a valid TSIG; fails with the reason
 * (RCODE, TSIG error, no answer) otherwise. No timeout of its own: the caller bounds each attempt.
 */
export const sendDnsUpdate = (settings: DyndnsSettings, key: TsigKey, address: string, type: AddressFamily) =>
  Effect.gen(function*() {
    const server = yield* resolveServer(settings.server.host)
    const id = randomInt(0, 65536)
    const clock = yield* Clock.Clock
    const nowSeconds = () => Math.floor(clock.currentTimeMillisUnsafe() / 1000)
    const request = signMessage(encodeUpdate({ id, zone: settings.zone, name: settings.name, type, address, ttl: settings.ttl }), key, nowSeconds())
    const bytes = yield* exchange(server, settings.server.port, request.bytes, id)
    let answer
    try {
      answer = readAnswer(bytes)
    } catch (error) {
      return yield* new DnsUpdateError({ reason: `unreadable answer: ${error instanceof MalformedMessage ? error.message : String(error)}`, retryable: true })
    }
    if (!answer.isResponse || answer.opcode !== 5) return yield* new DnsUpdateError({ reason: "the answer is not an UPDATE response", retryable: true })
    if (answer.tsig !== undefined && answer.tsig.error !== 0) {
      const name = tsigErrorNames[answer.tsig.error] ?? `TSIG error ${answer.tsig.error}`
      return yield* new DnsUpdateError({
        reason: `the server refused the key ${key.name}: ${name}${name === "BADTIME" ? " (check both clocks)" : ""}`,
        retryable: name === "BADTIME"
      })
    }
    if (answer.rcode !== 0) {
      const name = rcodeNames[answer.rcode] ?? `RCODE ${answer.rcode}`
      return yield* new DnsUpdateError({ reason: `the server answered ${name}`, retryable: !finalRcodes.has(answer.rcode) })
    }
    // A NOERROR counts only when the server signed it: anyone could send an unsigned one.
    const problem = answerTsigProblem(bytes, answer, key, request.mac, nowSeconds())
    if (problem !== undefined) return yield* new DnsUpdateError({ reason: problem, retryable: true })
  })
