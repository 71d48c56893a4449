import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import type { Browser } from "playwright-core"
import { launchChromium } from "./support/browser.ts"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon } from "./support/daemonProcess.ts"

const screenshots = resolve(import.meta.dirname, "screenshots")

describe("dashboard in headless Chromium", () => {
  let daemon: RunningDaemon
  let browser: Browser
  let url: string

  beforeAll(async () => {
    const httpPort = await freePort()
    url = `http://127.0.0.1:${httpPort}/`
    const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
check_interval: 1
timeout_jitter: 1
grace_period: 0
clients:
  Client1:
    token: browser-token
    timeout: 0.05
    resources:
      db1.example.com: {environment: prod}
http:
  listen: "127.0.0.1:${httpPort}"
`)
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
    browser = await launchChromium()
    mkdirSync(screenshots, { recursive: true })
  })

  afterAll(async () => {
    await browser?.close()
    await daemon?.stop("SIGKILL")
  })

  it("shows a resource after a real heartbeat, then shows it turn stale", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } })
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    await page.goto(url)
    await page.locator('tr[data-resource="Client1/db1.example.com"][data-status="not_registered"]').waitFor()
    await page.locator("#connection.live").waitFor()

    const push = pushTo(daemon.port)
    await push.heartbeat("browser-token", "web1.example.com", { payload: { uptime: 1 } })
    const row = page.locator('tr[data-resource="Client1/web1.example.com"]')
    await row.and(page.locator('[data-status="alive"]')).waitFor({ timeout: 10_000 })
    await expect(row.locator("td").nth(4).textContent()).resolves.toMatch(/^in \d+ s$/)
    await page.locator("#events li", { hasText: "web1.example.com" }).first().waitFor()
    await page.screenshot({ path: join(screenshots, "dashboard-alive.png"), fullPage: true })

    // No more heartbeats: 3 s timeout + 1 s jitter later it is stale on the page.
    await row.and(page.locator('[data-status="stale"]')).waitFor({ timeout: 15_000 })
    await expect(row.locator("td").nth(4).textContent()).resolves.toMatch(/^overdue \d+ s$/)
    await expect(page.locator('[data-count="stale"]').textContent()).resolves.toBe("1 stale")

    // Search and status filter.
    await page.fill("#search", "db1")
    await expect(page.locator("#resources tbody tr").count()).resolves.toBe(1)
    await page.fill("#search", "")
    await page.selectOption("#status-filter", "stale")
    await expect(page.locator("#resources tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-resource"))))
      .resolves.toEqual(["Client1/web1.example.com"])
    await page.selectOption("#status-filter", "")
    await page.screenshot({ path: join(screenshots, "dashboard-stale.png"), fullPage: true })
    push.close()
    expect(errors).toEqual([])
  })

  it("the detail view of a resource shows its checks (sender plugins) by level", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    await page.goto(url)
    const push = pushTo(daemon.port)
    const checks = {
      "memory.percent": { level: "warning", value: 86.5, text: "memory.percent = 86.5 (WARNING; warning > 80, critical > 95)" },
      "disk./.percent": { level: "ok", value: 41, text: "disk./.percent = 41 (OK; warning > 85, critical > 95)" },
      "nagios.check_ntp": { level: "critical", value: 2, text: "NTP CRITICAL: offset 12 s" }
    }
    await push.heartbeat("browser-token", "checked.example.com", { payload: { uptime: 1, metrics: { memory: { percent: 86.5 } }, checks } })
    const row = page.locator('tr[data-resource="Client1/checked.example.com"]')
    await row.waitFor({ timeout: 10_000 })
    await row.click()
    await page.locator("#detail:not([hidden])").waitFor()
    await page.locator('#checks tr[data-check="nagios.check_ntp"]').waitFor()
    await expect(page.locator("#checks tbody tr").evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-check"), r.getAttribute("data-level")])))
      .resolves.toEqual([["memory.percent", "warning"], ["disk./.percent", "ok"], ["nagios.check_ntp", "critical"]])
    await expect(page.locator('#checks tr[data-check="nagios.check_ntp"] td').nth(4).textContent()).resolves.toBe("NTP CRITICAL: offset 12 s")
    await expect(page.locator("#detail-title").textContent()).resolves.toBe("checked.example.com (Client1)")
    await page.screenshot({ path: join(screenshots, "dashboard-detail.png"), fullPage: true })
    await page.click("#detail-close")
    await page.locator("#detail[hidden]").waitFor({ state: "attached" })
    push.close()
    expect(errors).toEqual([])
  })

  it("fits a phone screen without sideways scrolling", async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true })
    await phone.goto(url)
    await phone.locator('tr[data-resource="Client1/db1.example.com"]').waitFor()
    // A string, evaluated in the page: this project's type check has no DOM library.
    const overflow = await phone.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth")
    expect(overflow).toBeLessThanOrEqual(0)
    await phone.screenshot({ path: join(screenshots, "dashboard-phone.png"), fullPage: true })
  })
})
