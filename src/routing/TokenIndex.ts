import { hash } from "node:crypto"
import type { ClientConfig } from "../config/ReceiverConfig.ts"

// latin1: the 32 digest bytes as a 32-character string, the cheapest string form for a Map key.
const digestOf = (token: string): string => hash("sha256", token, "binary")

/**
 * Finds the client a token belongs to without comparing the token itself: one SHA-256 digest and
 * one `Map.get` by it. How long a lookup takes depends on the guess's length and on how its digest
 * compares with the stored digests, which says nothing about how many leading characters of the
 * guess were right. The map's hit is an exact comparison of the two digests: nothing to confirm.
 * Tokens are not kept, only their digests.
 *
 * Tokens are compared by their text: a token sent as a JSON number (`12345`) matches the
 * configured `token: 12345`. A token sent as a number may also match a configured unquoted token by
 * the value PyYAML reads from it (`token: 0123` is 83 to a deployed sender, which sends `83`).
 *
 * A cache of verified tokens by the raw string (measured: it saves the digest, 0.3-0.4 us, about
 * 7% of a heartbeat's synchronous path) was decided against: V8's `Map.get` compares a string key
 * with a stored one character by character, stopping at the first difference, for any guess of
 * the same length that lands in the same bucket; with two clients that is every other guess. That
 * difference is nanoseconds, but an unanswered ZeroMQ sender can still average the receiver's
 * throughput over millions of guesses, so the digest stays.
 */
export class TokenIndex {
  private readonly clientsByDigest: ReadonlyMap<string, ClientConfig>
  private readonly clientsByNumberDigest: ReadonlyMap<string, ClientConfig>

  constructor(clients: ReadonlyArray<ClientConfig>) {
    this.clientsByDigest = new Map(clients.map((client) => [digestOf(client.token), client]))
    this.clientsByNumberDigest = new Map(
      clients.flatMap((client) => client.tokenNumber === undefined ? [] : [[digestOf(client.tokenNumber), client] as const])
    )
  }

  /** `asNumber`: the token came as a JSON number, so the numbers PyYAML reads from tokens count too. */
  lookup(token: string, asNumber = false): ClientConfig | undefined {
    const digest = digestOf(token)
    return this.clientsByDigest.get(digest) ?? (asNumber ? this.clientsByNumberDigest.get(digest) : undefined)
  }
}
