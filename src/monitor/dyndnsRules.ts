/**
 * Dynamic DNS (issue 18.4), the pure rules: which address a heartbeat gives its resource, and
 * whether that address needs a DNS update. The effectful updater is `src/dyndns/`.
 *
 * The address is the sender's `payload.address` when it sends one (an IPv4 or IPv6 literal), else
 * the source address of the datagram or request (UDP, HTTP). ZeroMQ knows no source address: only
 * `payload.address` counts there. IPv4 and IPv6 are separate records (A, AAAA) and remembered
 * apart: a dual-stack host that reaches the receiver over both keeps both records, without an
 * update per heartbeat.
 */

const ipv4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const isIPv4 = (text: string) => ipv4.test(text)
/** The URL parser knows IPv6 literals (RFC 4291 text forms, an IPv4 tail included) and writes them canonically (RFC 5952). */
const ipv6Hostname = (text: string): string | undefined => {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return undefined
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1)
  } catch {
    return undefined
  }
}

export type AddressFamily = "A" | "AAAA"

export type AddressChoice =
  | { readonly kind: "none" }
  /** `payload.address` was sent but is not an IP address literal: no update, counted. */
  | { readonly kind: "invalid" }
  | { readonly kind: "address"; readonly address: string; readonly type: AddressFamily }

const none: AddressChoice = { kind: "none" }
const invalid: AddressChoice = { kind: "invalid" }

/**
 * An address literal in one canonical form (IPv6 compressed, lower case; an IPv4-mapped IPv6
 * address as its IPv4 address), with its record type; undefined when the text is not one. A zone
 * index (`fe80::1%eth0`) is not an address a DNS record can hold.
 */
export const canonicalAddress = (text: string): { readonly address: string; readonly type: AddressFamily } | undefined => {
  if (text.length > 45) return undefined
  if (isIPv4(text)) return { address: text, type: "A" }
  const address = ipv6Hostname(text)
  if (address === undefined) return undefined
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address)
  if (hexMapped !== null) {
    const high = parseInt(hexMapped[1]!, 16)
    const low = parseInt(hexMapped[2]!, 16)
    return { address: `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, type: "A" }
  }
  return { address, type: "AAAA" }
}

/**
 * The address a heartbeat gives its resource: `payload.address` when present (it overrides the
 * source: a sender behind NAT or a proxy knows better), else the transport's source address.
 */
export const addressOf = (source: string | undefined, payload: unknown): AddressChoice => {
  if (payload !== null && typeof payload === "object" && "address" in payload) {
    const given = (payload as { readonly address: unknown }).address
    if (typeof given !== "string") return invalid
    const canonical = canonicalAddress(given)
    return canonical === undefined ? invalid : { kind: "address", ...canonical }
  }
  if (source === undefined) return none
  const canonical = canonicalAddress(source)
  return canonical === undefined ? none : { kind: "address", ...canonical }
}

/** What the updater remembers of one record (a resource's A or AAAA). */
export interface RecordMemory {
  /** The address last asked for (queued, being sent, or sent). */
  readonly address: string
  readonly outcome: "queued" | "updated" | "failed"
  /** When the outcome was reached (receiver's timeline). */
  readonly atMs: number
}

/**
 * Whether a heartbeat's address needs an update: the record was never updated by this receiver
 * (since it started, or since its `dyndns:` settings changed), or the address differs from the one
 * last asked for, or the last update of this very address failed at least `retryFailedAfterMs` ago
 * (the server may be back). An address already queued or written is not sent again.
 */
export const needsUpdate = (
  memory: RecordMemory | undefined,
  address: string,
  nowMs: number,
  retryFailedAfterMs: number
): boolean => {
  if (memory === undefined || memory.address !== address) return true
  return memory.outcome === "failed" && nowMs - memory.atMs >= retryFailedAfterMs
}
