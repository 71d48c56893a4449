import { hash, timingSafeEqual } from "node:crypto"
import type { ClientConfig } from "../config/ReceiverConfig.ts"

const digestOf = (token: string): string => hash("sha256", token, "base64")

/**
 * Finds the client a token belongs to without comparing the token itself: lookups go by SHA-256
 * digest, so how long a lookup takes says nothing about how many leading bytes of a guess were
 * right. Tokens are not kept, only their digests.
 */
export class TokenIndex {
  private readonly clientsByDigest: ReadonlyMap<string, ClientConfig>

  constructor(clients: ReadonlyArray<ClientConfig>) {
    this.clientsByDigest = new Map(clients.map((client) => [digestOf(client.token), client]))
  }

  lookup(token: string): ClientConfig | undefined {
    const digest = digestOf(token)
    const client = this.clientsByDigest.get(digest)
    if (client === undefined) return undefined
    // The map compared digests as strings; confirm in constant time before trusting the match.
    const expected = Buffer.from(digestOf(client.token), "base64")
    return timingSafeEqual(Buffer.from(digest, "base64"), expected) ? client : undefined
  }
}
