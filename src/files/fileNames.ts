import { hash } from "node:crypto"

// Names made only of these keep the deployed version's file name (dots and spaces become "_").
// "_" itself is not in the set, so that mapping cannot merge two distinct names.
const plainName = /^[A-Za-z0-9.\-:@+=,]{1,200}$/

/**
 * A file or folder name for a resource or client that can never leave its directory and never
 * collides with another name's. Ordinary host names keep the deployed layout
 * (`host1.example.com` -> `host1_example_com`); anything else (slashes, "..", NUL, "_", non-ASCII,
 * very long) becomes a readable prefix plus a digest of the full name, marked by "~", which plain
 * names never contain.
 */
export const safeFileName = (name: string): string => {
  if (plainName.test(name)) return name.replaceAll(".", "_")
  const readable = name.slice(0, 80).replace(/[^A-Za-z0-9\-]/g, "_")
  return `${readable}~${hash("sha256", name, "hex").slice(0, 20)}`
}

/** The deployed version's folder for a client: its name in lower case, made safe. */
export const clientFolderName = (client: string): string => safeFileName(client.toLowerCase())

/** "YYYY-MM-DD HH:MM:SS" in UTC, as the deployed heartbeat files have it. */
export const utcStamp = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace("T", " ")
