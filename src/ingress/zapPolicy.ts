import { z85Encode } from "../support/z85.ts"

export type ZapDecision = "accepted" | "refused"

/**
 * Who may complete a CURVE handshake, given the client's public key (32 bytes) and the keys pinned
 * in the configuration (client name -> Z85 key). With no key pinned, anyone holding the receiver's
 * public key may connect (the channel is encrypted; the token names the client). With any pinned,
 * only those keys. Pure, table-tested.
 */
export const zapDecision = (
  publicKey: Uint8Array,
  pinned: ReadonlyMap<string, string>
): { readonly outcome: "accepted"; readonly client: string | undefined } | { readonly outcome: "refused" } => {
  if (pinned.size === 0) return { outcome: "accepted", client: undefined }
  const presented = z85Encode(publicKey)
  for (const [client, key] of pinned) {
    if (key === presented) return { outcome: "accepted", client }
  }
  return { outcome: "refused" }
}
