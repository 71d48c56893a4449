import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto"
import { readFile } from "node:fs/promises"
import { isCurveKey, z85Decode, z85Encode } from "./z85.ts"

/**
 * CURVE keys (ZeroMQ's CurveZMQ: X25519 key pairs) in Z85 text, 40 characters per key, the form
 * libzmq and `heartbeat-mesh keygen` use. Pure node:crypto, so the sender can read its keys without
 * loading the receiver or a native module.
 */

export interface CurveKeyPair {
  readonly publicKey: string
  readonly secretKey: string
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")

/** The public key that belongs to a secret key. */
export const publicKeyOf = (secretKey: string): string => {
  const secret = z85Decode(secretKey)
  if (secret === undefined || secret.length !== 32) throw new Error("not a CURVE secret key (40 Z85 characters)")
  const publicJwk = createPublicKey(createPrivateKey({
    key: { kty: "OKP", crv: "X25519", d: base64url(secret), x: "" },
    format: "jwk"
  })).export({ format: "jwk" })
  return z85Encode(Buffer.from(publicJwk.x!, "base64url"))
}

/** A fresh key pair from the system's random source. */
export const generateCurveKeyPair = (): CurveKeyPair => {
  const { privateKey } = generateKeyPairSync("x25519")
  const jwk = privateKey.export({ format: "jwk" })
  return { secretKey: z85Encode(Buffer.from(jwk.d!, "base64url")), publicKey: z85Encode(Buffer.from(jwk.x!, "base64url")) }
}

/** The text of a key file as `keygen` writes it: comments, `public_key: "..."`, `secret_key: "..."`. */
export const keyFileText = (pair: CurveKeyPair, withSecret: boolean): string =>
  [
    withSecret
      ? "# heartbeat-mesh CURVE key pair. Keep this file secret (mode 0600); share only the .pub file."
      : "# heartbeat-mesh CURVE public key: pin it (clients.<name>.curve_public_key) or give it to senders (curve_server_key).",
    `public_key: "${pair.publicKey}"`,
    ...(withSecret ? [`secret_key: "${pair.secretKey}"`] : []),
    ""
  ].join("\n")

const keyLine = (text: string, name: string): string | undefined => {
  const match = new RegExp(`^\\s*${name}\\s*:\\s*["']?([^"'\\s]+)["']?\\s*$`, "m").exec(text)
  return match?.[1]
}

/**
 * Reads a key file written by `keygen` (a bare 40-character secret key also works). The secret key
 * is required; the public key is derived from it and, when the file states one, checked against it.
 * Errors never repeat the secret.
 */
export const readCurveKeyFile = async (path: string): Promise<CurveKeyPair> => {
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch (error) {
    throw new Error(`cannot read the CURVE key file ${path}: ${(error as Error).message}`)
  }
  const secretKey = keyLine(text, "secret_key") ?? (isCurveKey(text.trim()) ? text.trim() : undefined)
  if (secretKey === undefined || !isCurveKey(secretKey)) {
    throw new Error(`${path}: no CURVE secret key (expected a line secret_key: "<40 Z85 characters>", as heartbeat-mesh keygen writes)`)
  }
  const publicKey = publicKeyOf(secretKey)
  const stated = keyLine(text, "public_key")
  if (stated !== undefined && stated !== publicKey) {
    throw new Error(`${path}: public_key does not belong to secret_key`)
  }
  return { publicKey, secretKey }
}

/**
 * Writes a fresh key pair for `keygen`: `<path>.key` (both keys, created with mode 0600) and
 * `<path>.pub` (the public key). Refuses to replace existing files unless `force`.
 */
export const writeKeyPair = async (path: string, force: boolean) => {
  const { writeFile, chmod } = await import("node:fs/promises")
  const pair = generateCurveKeyPair()
  const secretFile = `${path}.key`
  const publicFile = `${path}.pub`
  const flag = force ? "w" : "wx"
  try {
    await writeFile(secretFile, keyFileText(pair, true), { mode: 0o600, flag })
    await chmod(secretFile, 0o600)
    await writeFile(publicFile, keyFileText(pair, false), { mode: 0o644, flag })
  } catch (error) {
    const code = (error as { code?: string }).code
    throw new Error(code === "EEXIST"
      ? `${(error as { path?: string }).path ?? path} exists already: keep it, or pass --force to replace it`
      : `cannot write the key files: ${(error as Error).message}`)
  }
  return { publicKey: pair.publicKey, secretFile, publicFile }
}
