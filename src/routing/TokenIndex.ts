import { hash, timingSafeEqual } from "node:crypto"
import type { ClientConfig } from "../config/ReceiverConfig.ts"

// latin1: the 32 digest bytes as a 32-character string, the cheapest string form for a Map key.
const digestOf = (token: string): string => hash("sha256", token, "binary")

/**
 * Finds the client a token belongs to without comparing the token itself: lookups go by SHA-256
 * digest, so how long a lookup takes says nothing about how many leading bytes of a guess were
 * right. Tokens are not kept, only their digests.
 */
export class TokenIndex {
  private readonly clientsByDigest: ReadonlyMap<string, { readonly client: ClientConfig; readonly digest: Buffer }>

  constructor(clients: ReadonlyArray<ClientConfig>) {
    this.clientsByDigest = new Map(clients.map((client) => {
      const digest = digestOf(client.token)
      return [digest, { client, digest: Buffer.from(digest, "latin1") }]
    }))
  }

  lookup(token: string): ClientConfig | undefined {
    const digest = digestOf(token)
    const entry = this.clientsByDigest.get(digest)
    if (entry === undefined) return undefined
    // The map compared digests as strings; confirm in constant time before trusting the match.
    return timingSafeEqual(Buffer.from(digest, "latin1"), entry.digest) ? entry.client : undefined
  }
}
