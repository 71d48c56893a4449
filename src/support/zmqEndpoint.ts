/** The receivers' well-known port (SPEC 1), shared by the receiver and sender defaults. */
export const defaultReceiverPort = 15987

/** How long a sender run waits for receivers that do not answer (SPEC 4: the deployed 10 s). */
export const defaultSendTimeoutSeconds = 10

/**
 * A ZeroMQ TCP endpoint: IPv6 literals get brackets, and port 0 becomes "*" (any free port, for a
 * bind). Used by the receiver to bind and by the sender to connect.
 */
export const tcpEndpoint = (host: string, port: number): string => {
  const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host
  return `tcp://${bracketed}:${port === 0 ? "*" : port}`
}
