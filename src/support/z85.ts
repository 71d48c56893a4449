/**
 * Z85 text (ZMQ RFC 32) and the CURVE key check, apart from curveKeys.ts and its node:crypto:
 * reading sender.yaml checks `curve_server_key` on every cron run, which needs no key maths.
 */

const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
const decodeTable = new Map([...alphabet].map((character, index) => [character, index]))

/** Z85 of a byte string whose length is a multiple of 4 (ZMQ RFC 32). */
export const z85Encode = (bytes: Uint8Array): string => {
  if (bytes.length % 4 !== 0) throw new Error("z85: length must be a multiple of 4")
  let text = ""
  for (let offset = 0; offset < bytes.length; offset += 4) {
    let value = ((bytes[offset]! << 24) >>> 0) + (bytes[offset + 1]! << 16) + (bytes[offset + 2]! << 8) + bytes[offset + 3]!
    let chunk = ""
    for (let i = 0; i < 5; i++) {
      chunk = alphabet[value % 85]! + chunk
      value = Math.floor(value / 85)
    }
    text += chunk
  }
  return text
}

/** The bytes of a Z85 text; undefined when it is not Z85 (wrong length, wrong characters, overflow). */
export const z85Decode = (text: string): Buffer | undefined => {
  if (text.length % 5 !== 0) return undefined
  const bytes = Buffer.alloc((text.length / 5) * 4)
  for (let offset = 0; offset < text.length; offset += 5) {
    let value = 0
    for (let i = 0; i < 5; i++) {
      const digit = decodeTable.get(text[offset + i]!)
      if (digit === undefined) return undefined
      value = value * 85 + digit
    }
    if (value > 0xffffffff) return undefined
    bytes.writeUInt32BE(value, (offset / 5) * 4)
  }
  return bytes
}

/** A CURVE key as text: 40 Z85 characters standing for 32 bytes. */
export const isCurveKey = (text: string): boolean => text.length === 40 && z85Decode(text) !== undefined
