/**
 * Why a socket could not listen, in a few words and with what to do, from the error's `code`
 * (Node and zeromq both set it): one line for the refusal to start (issue 13.5).
 */
export const describeListenFailure = (error: unknown, change: string): string => {
  const code = (error as { code?: unknown } | null)?.code
  switch (code) {
    case "EADDRINUSE":
      return `address in use: another process listens there (another receiver?); stop it or ${change}`
    case "EADDRNOTAVAIL":
    case "ENODEV":
      return `no such address on this host; ${change}`
    case "EACCES":
    case "EPERM":
      return `permission denied (ports below 1024 need privileges); ${change}`
    default: {
      const message = error instanceof Error ? error.message : String(error)
      return `${message.split("\n")[0]}; ${change}`
    }
  }
}

/** `host:port`, with brackets around an IPv6 address. */
export const hostPort = (host: string, port: number | string): string =>
  `${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`
