// The README's screenshots of the dashboard: a real receiver with a small mixed fleet (some stale,
// one paused, configured ones never heard, a few checks), photographed by the headless Chromium
// the browser tests use, in light and dark, on a desktop and on a phone.
//   node test/tools/screenshots.ts        -> docs/screenshots/*.png
import { mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { launchChromium } from "../support/browser.ts"
import { freePort, makeWorkspace, pushTo, startDaemon } from "../support/daemonProcess.ts"

const out = resolve(import.meta.dirname, "../../docs/screenshots")
mkdirSync(out, { recursive: true })

const httpPort = await freePort()
const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
check_interval: 5
timeout_jitter: 1
grace_period: 0
clients:
  Batch:
    token: batch-token
    timeout: 0.05
    resources:
      report-builder: {service: reports, environment: prod, location: Paris}
  Shop:
    token: shop-token
    timeout: 60
    resources:
      web1.shop.example.com: {service: shop, environment: prod, location: Paris}
      web2.shop.example.com: {service: shop, environment: prod, location: Paris}
      web10.shop.example.com: {service: shop, environment: prod, location: Berlin}
      db1.shop.example.com: {service: database, environment: prod, location: Paris}
      canary.shop.example.com: {service: shop, environment: staging, location: Berlin}
  Office:
    token: office-token
    timeout: 60
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: admin-secret
`)
const daemon = await startDaemon(workspace, ["--notifier", "stdout"])
const push = pushTo(daemon.port)
const checks = {
  "disk./.percent": { level: "warning", value: 87.5, text: "disk./.percent = 87.5 (WARNING; warning > 85, critical > 95)" },
  "memory.percent": { level: "ok", value: 41, text: "memory.percent = 41 (OK; warning > 80, critical > 95)" },
  "nagios.check_ntp": { level: "ok", value: 0, text: "NTP OK: offset 0.002 s" }
}
// Batch jobs that will go quiet (3 s timeout), then the fleet that keeps sending.
for (let i = 1; i <= 6; i++) await push.heartbeat("batch-token", `etl-${i}.batch.example.com`, { payload: { uptime: 3600 * i } })
await push.heartbeat("batch-token", "report-builder", { payload: { uptime: 120 } })
for (const name of ["web1", "web2", "web10", "db1"]) {
  await push.heartbeat("shop-token", `${name}.shop.example.com`, { payload: { uptime: 86_400, load: 0.42, checks } })
}
for (let i = 1; i <= 40; i++) await push.heartbeat("office-token", `ws${i}.office.example.com`, { payload: { uptime: 7200 + i } })
await push.heartbeat("office-token", "printer2.office.example.com")
// Some resource heard every second keeps the receiver active (storm suppression), so the quiet
// batch jobs' timeouts are sent.
let tick = 0
const keeper = setInterval(() => void push.heartbeat("office-token", `ws${1 + (tick++ % 40)}.office.example.com`), 1000)
await new Promise((r) => setTimeout(r, 8000))
// Keep the receiver active (storm suppression) so the batch jobs' timeouts are sent, and pause one.
await push.heartbeat("shop-token", "web1.shop.example.com", { payload: { uptime: 86_408, load: 0.4, checks } })
await fetch(`http://127.0.0.1:${httpPort}/api/resources/Office/printer2.office.example.com/pause`, { method: "POST", headers: { authorization: "Bearer admin-secret" } })
await new Promise((r) => setTimeout(r, 7000))
await push.heartbeat("shop-token", "web2.shop.example.com", { payload: { uptime: 86_415, load: 0.38, checks } })
clearInterval(keeper)

const browser = await launchChromium()
for (const scheme of ["light", "dark"] as const) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: scheme })
  await page.goto(`http://127.0.0.1:${httpPort}/`)
  await page.locator("#connection.live").waitFor()
  await page.waitForTimeout(1500)
  await page.screenshot({ path: join(out, `dashboard-${scheme}.png`), fullPage: true })
  await page.fill("#search", "web1.shop")
  await page.locator('#rows .row[data-resource="Shop/web1.shop.example.com"]').click()
  await page.locator("#detail:not([hidden]) #checks tbody tr").first().waitFor()
  await page.screenshot({ path: join(out, `dashboard-detail-${scheme}.png`) })
  await page.close()
}
const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true })
await phone.goto(`http://127.0.0.1:${httpPort}/`)
await phone.locator("#connection.live").waitFor()
await phone.waitForTimeout(1000)
await phone.screenshot({ path: join(out, "dashboard-phone.png") })
await browser.close()
push.close()
await daemon.stop("SIGKILL")
console.log(`written: ${out}/dashboard-{light,dark,detail-light,detail-dark,phone}.png`)
