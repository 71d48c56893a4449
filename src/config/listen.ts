/** "host:port" or "[v6]:port" to its parts; undefined when malformed. */
export const parseListen = (text: string): { host: string; port: number } | undefined => {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text)
  if (match === null) return undefined
  const port = Number(match[3])
  if (port > 65535) return undefined
  return { host: match[1] ?? match[2]!, port }
}

export interface ListenAddress {
  readonly host: string
  readonly port: number
}
