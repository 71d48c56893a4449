import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto"

/**
 * Password hashes in the PHC string format for scrypt (node:crypto, no native addon):
 * `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`, salt and hash in unpadded base64. ln is log2 of N.
 * The defaults cost 32 MiB and about a tenth of a second per check: a login is rare, a guess
 * is expensive. Parameters are bounded so that a hash line in receiver.yaml cannot ask for
 * gigabytes (`scryptBounds`).
 */
export interface ScryptHash {
  readonly ln: number
  readonly r: number
  readonly p: number
  readonly salt: Buffer
  readonly hash: Buffer
}

export const scryptDefaults = { ln: 15, r: 8, p: 1 } as const
export const scryptBounds = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const
const saltBytes = 16
const hashBytes = 32

const b64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "")

export const formatScryptHash = (hash: ScryptHash) => `$scrypt$ln=${hash.ln},r=${hash.r},p=${hash.p}$${b64(hash.salt)}$${b64(hash.hash)}`

const phc = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{32,88})$/

const within = (value: number, [low, high]: readonly [number, number]) => value >= low && value <= high

/** The hash line's parts, or a sentence saying what is wrong with it (never echoing it). */
export const parseScryptHash = (text: string): ScryptHash | { readonly problem: string } => {
  const match = phc.exec(text)
  if (match === null) return { problem: "expected a hash made by `heartbeat-mesh passwd` ($scrypt$ln=..,r=..,p=..$salt$hash)" }
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (!within(ln, scryptBounds.ln) || !within(r, scryptBounds.r) || !within(p, scryptBounds.p)) {
    return { problem: `scrypt parameters out of range (ln ${scryptBounds.ln.join("-")}, r ${scryptBounds.r.join("-")}, p ${scryptBounds.p.join("-")})` }
  }
  return { ln, r, p, salt: Buffer.from(match[4]!, "base64"), hash: Buffer.from(match[5]!, "base64") }
}

const derive = (password: string, salt: Buffer, params: { ln: number; r: number; p: number }, length: number) =>
  new Promise<Buffer>((resolve, reject) => {
    const N = 2 ** params.ln
    // scrypt needs 128 * N * r bytes; node refuses more than maxmem (32 MiB by default).
    const maxmem = 128 * N * params.r + 16 * 1024 * 1024
    scrypt(password.normalize("NFC"), salt, length, { N, r: params.r, p: params.p, maxmem }, (error, key) =>
      error === null ? resolve(key) : reject(error))
  })

/** A fresh hash of `password` (random salt), as the line receiver.yaml holds. */
export const hashPassword = async (password: string, params: { ln: number; r: number; p: number } = scryptDefaults) => {
  const salt = randomBytes(saltBytes)
  return formatScryptHash({ ...params, salt, hash: await derive(password, salt, params, hashBytes) })
}

/** Whether `password` matches `stored`, compared in constant time; runs on libuv's thread pool. */
export const verifyPassword = async (password: string, stored: ScryptHash): Promise<boolean> => {
  const key = await derive(password, stored.salt, stored, stored.hash.length)
  return timingSafeEqual(key, stored.hash)
}

/** API tokens are random, long and stored only as `sha256:<hex>` of the token. */
export const tokenDigest = (token: string) => `sha256:${createHash("sha256").update(token).digest("hex")}`
export const tokenDigestPattern = /^sha256:[0-9a-f]{64}$/

/** A new API token: 32 random bytes, base64url, with a prefix that says what it is. */
export const newApiToken = () => `hmt_${randomBytes(32).toString("base64url")}`
