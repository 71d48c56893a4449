import { hash, timingSafeEqual } from "node:crypto"
import type { ClientConfig } from "../config/ReceiverConfig.ts"

// latin1: the 32 digest bytes as a 32-character string, the cheapest string form for a Map key.
const digestOf = (token: string): string => hash("sha256", token, "binary")

interface Entry {
  readonly client: ClientConfig
  readonly digest: Buffer
}

const entryFor = (client: ClientConfig, token: string): readonly [string, Entry] => {
  const digest = digestOf(token)
  return [digest, { client, digest: Buffer.from(digest, "latin1") }]
}

/**
 * Finds the client a token belongs to without comparing the token itself: lookups go by SHA-256
 * digest, so how long a lookup takes says nothing about how many leading bytes of a guess were
 * right. Tokens are not kept, only their digests.
 *
 * Tokens are compared by their text: a token sent as a JSON number (`12345`) matches the
 * configured `token: 12345`. A token sent as a number may also match a configured unquoted token by
 * the value PyYAML reads from it (`token: 0123` is 83 to a deployed sender, which sends `83`).
 */
export class TokenIndex {
  private readonly clientsByDigest: ReadonlyMap<string, Entry>
  private readonly clientsByNumberDigest: ReadonlyMap<string, Entry>

  constructor(clients: ReadonlyArray<ClientConfig>) {
    this.clientsByDigest = new Map(clients.map((client) => entryFor(client, client.token)))
    this.clientsByNumberDigest = new Map(
      clients.flatMap((client) => client.tokenNumber === undefined ? [] : [entryFor(client, client.tokenNumber)])
    )
  }

  /** `asNumber`: the token came as a JSON number, so the numbers PyYAML reads from tokens count too. */
  lookup(token: string, asNumber = false): ClientConfig | undefined {
    const digest = digestOf(token)
    const entry = this.clientsByDigest.get(digest) ?? (asNumber ? this.clientsByNumberDigest.get(digest) : undefined)
    if (entry === undefined) return undefined
    // The map compared digests as strings; confirm in constant time before trusting the match.
    return timingSafeEqual(Buffer.from(digest, "latin1"), entry.digest) ? entry.client : undefined
  }
}
