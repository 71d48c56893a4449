import { freePort, makeWorkspace, type RunningDaemon, startDaemon } from "./daemonProcess.ts"
import { httpRequest, parsePrometheus } from "./ingressClients.ts"

/**
 * A receiver (real process, `--notifier stdout`) with its HTTP API on a free port and one client,
 * `Client1`, with `token` and a 10-minute timeout; `settings` adds top-level receiver.yaml lines.
 */
export const startWithApi = async (token: string, settings = "") => {
  const apiPort = await freePort()
  const api = `http://127.0.0.1:${apiPort}`
  const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
${settings}
http:
  listen: "127.0.0.1:${apiPort}"
clients:
  Client1:
    token: ${token}
    timeout: 10
`)
  const daemon: RunningDaemon = await startDaemon(workspace, ["--notifier", "stdout"])
  const metrics = async () => parsePrometheus((await httpRequest(`${api}/metrics`)).body)
  return { daemon, api, workspace, metrics }
}
