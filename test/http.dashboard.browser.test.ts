import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import type { Browser, Page } from "playwright-core"
import { launchChromium } from "./support/browser.ts"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon } from "./support/daemonProcess.ts"
import { waitForTotal } from "./support/httpReads.ts"

const screenshots = resolve(import.meta.dirname, "screenshots")

/** A page that records its script errors (a string evaluated in the page: the type check has no DOM library). */
const openPage = async (browser: Browser, url: string, options: Parameters<Browser["newPage"]>[0] = {}) => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, ...options })
  const errors: Array<string> = []
  page.on("pageerror", (error) => errors.push(error.message))
  await page.goto(url)
  return { page, errors }
}

/** A receiver (real process) with the dashboard on a free port; `settings`: the rest of its receiver.yaml. */
const startReceiver = async (settings: string) => {
  const httpPort = await freePort()
  const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
${settings}
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: admin-secret
`)
  return { daemon: await startDaemon(workspace, ["--notifier", "stdout"]), base: `http://127.0.0.1:${httpPort}` }
}

const rowOf = (page: Page, client: string, resource: string) => page.locator(`#rows .row[data-resource="${client}/${resource}"]`)

describe("dashboard in headless Chromium", () => {
  let daemon: RunningDaemon
  let browser: Browser
  let url: string

  beforeAll(async () => {
    const started = await startReceiver(`
check_interval: 1
timeout_jitter: 1
grace_period: 0
clients:
  Client1:
    token: browser-token
    timeout: 0.05
    resources:
      db1.example.com: {environment: prod}`)
    daemon = started.daemon
    url = `${started.base}/`
    browser = await launchChromium()
    mkdirSync(screenshots, { recursive: true })
  })

  afterAll(async () => {
    await browser?.close()
    await daemon?.stop("SIGKILL")
  })

  it("shows a resource after a real heartbeat, then shows it turn stale, live", async () => {
    const { page, errors } = await openPage(browser, url)
    await rowOf(page, "Client1", "db1.example.com").and(page.locator('[data-status="not_registered"]')).waitFor()
    await page.locator("#connection.live").waitFor()

    const push = pushTo(daemon.port)
    await push.heartbeat("browser-token", "web1.example.com", { payload: { uptime: 1 } })
    const row = rowOf(page, "Client1", "web1.example.com")
    await row.and(page.locator('[data-status="alive"]')).waitFor({ timeout: 10_000 })
    await expect(row.locator(".deadline").textContent()).resolves.toMatch(/^in \d+ s$/)
    await page.locator("#events li", { hasText: "web1.example.com" }).first().waitFor()
    await page.screenshot({ path: join(screenshots, "dashboard-alive.png"), fullPage: true })

    // No more heartbeats: 3 s timeout + 1 s jitter later it is stale on the page, first in the list.
    await row.and(page.locator('[data-status="stale"]')).waitFor({ timeout: 15_000 })
    await expect(row.locator(".deadline").textContent()).resolves.toMatch(/^overdue \d+ s$/)
    await page.locator('.count[data-status="stale"] .n', { hasText: "1" }).waitFor()
    await expect(page.locator("#rows .row:not([hidden])").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-resource"))))
      .resolves.toEqual(["Client1/web1.example.com", "Client1/db1.example.com"])

    // Search and the status filter are answered by the server.
    await page.fill("#search", "db1")
    await page.locator("#total", { hasText: "1 of 2 resources match" }).waitFor()
    await expect(page.locator("#rows .row:not([hidden])").count()).resolves.toBe(1)
    await page.fill("#search", "")
    await page.locator("#total", { hasText: "2 resources" }).waitFor()
    await page.click('.count[data-status="stale"]')
    await expect.poll(() => page.locator("#rows .row:not([hidden])").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-resource"))))
      .toEqual(["Client1/web1.example.com"])
    await expect(page.locator("#total").textContent()).resolves.toBe("1 of 2 resources match")
    await page.selectOption("#status-filter", "")
    await page.screenshot({ path: join(screenshots, "dashboard-stale.png"), fullPage: true })
    push.close()
    expect(errors).toEqual([])
  })

  it("the detail view of a resource shows its checks (sender plugins) by level, its payload, and closes with Escape", async () => {
    const { page, errors } = await openPage(browser, url)
    const push = pushTo(daemon.port)
    const checks = {
      "memory.percent": { level: "warning", value: 86.5, text: "memory.percent = 86.5 (WARNING; warning > 80, critical > 95)" },
      "disk./.percent": { level: "ok", value: 41, text: "disk./.percent = 41 (OK; warning > 85, critical > 95)" },
      "nagios.check_ntp": { level: "critical", value: 2, text: "NTP CRITICAL: offset 12 s" }
    }
    await push.heartbeat("browser-token", "checked.example.com", { payload: { uptime: 1, metrics: { memory: { percent: 86.5 } }, checks } })
    const row = rowOf(page, "Client1", "checked.example.com")
    await row.waitFor({ timeout: 10_000 })
    await row.click()
    await page.locator("#detail:not([hidden])").waitFor()
    await page.locator('#checks tr[data-check="nagios.check_ntp"]').waitFor()
    await expect(page.locator("#checks tbody tr").evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-check"), r.getAttribute("data-level")])))
      .resolves.toEqual([["memory.percent", "warning"], ["disk./.percent", "ok"], ["nagios.check_ntp", "critical"]])
    await expect(page.locator('#checks tr[data-check="nagios.check_ntp"] td').nth(4).textContent()).resolves.toBe("NTP CRITICAL: offset 12 s")
    await expect(page.locator("#detail-title").textContent()).resolves.toBe("checked.example.com (Client1)")
    await expect(page.locator("#payload").textContent()).resolves.toContain('"uptime": 1')
    await page.screenshot({ path: join(screenshots, "dashboard-detail.png"), fullPage: true })
    await page.keyboard.press("Escape")
    await page.locator("#detail[hidden]").waitFor({ state: "attached" })
    push.close()
    expect(errors).toEqual([])
  })

  it("shows what the receiver sends as text, never as markup", async () => {
    const { page, errors } = await openPage(browser, url)
    const push = pushTo(daemon.port)
    const hostile = `<img src=x onerror="document.body.dataset.owned=1">`
    await push.heartbeat("browser-token", hostile, { payload: { note: "<script>document.body.dataset.owned=2</script>" } })
    const row = page.locator("#rows .row", { hasText: hostile })
    await row.waitFor({ timeout: 10_000 })
    await row.click()
    await page.locator("#detail-title", { hasText: hostile }).waitFor()
    await expect(page.locator("#payload").textContent()).resolves.toContain("<script>")
    await expect(page.evaluate<string | undefined>("document.body.dataset.owned")).resolves.toBeUndefined()
    await expect(page.locator("#rows img, #detail img, #events img").count()).resolves.toBe(0)
    push.close()
    expect(errors).toEqual([])
  })

  it("works under a strict Content-Security-Policy (no inline script or style)", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    const refused: Array<string> = []
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) refused.push(message.text())
    })
    // The page as the receiver serves it, with the strictest policy a page can live with (the
    // policy of the document governs its scripts, styles and requests).
    await page.route(url, async (route) => {
      const response = await route.fetch()
      await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" } })
    })
    await page.goto(url)
    await rowOf(page, "Client1", "db1.example.com").waitFor()
    await page.locator("#connection.live").waitFor()
    await rowOf(page, "Client1", "db1.example.com").click()
    await page.locator("#detail-title", { hasText: "db1.example.com (Client1)" }).waitFor()
    expect(refused).toEqual([])
  })

  it("fits a phone screen without sideways scrolling", async () => {
    const { page: phone } = await openPage(browser, url, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true })
    await rowOf(phone, "Client1", "db1.example.com").waitFor()
    const overflow = await phone.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth")
    expect(overflow).toBeLessThanOrEqual(0)
    await phone.screenshot({ path: join(screenshots, "dashboard-phone.png"), fullPage: true })
  })
})

describe("dashboard at 100,000 resources", () => {
  const fleet = 100_000
  const lastName = `web${fleet - 1}`
  let daemon: RunningDaemon
  let browser: Browser
  let url: string

  beforeAll(async () => {
    const started = await startReceiver(`
grace_period: 3600
clients:
  Fleet:
    token: fleet-token
    timeout: 60`)
    daemon = started.daemon
    url = `${started.base}/`
    // 100,000 resources, each by its first heartbeat: web0 ... web99999, all alive.
    const push = pushTo(daemon.port)
    for (let i = 0; i < fleet; i++) await push.heartbeat("fleet-token", `web${i}`)
    await waitForTotal(started.base, fleet)
    push.close()
    browser = await launchChromium()
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await daemon?.stop("SIGKILL")
  })

  it("finds the resource that sorts last by its name, opens it, pauses it, and sees it paused without a reload", async () => {
    const { page, errors } = await openPage(browser, url)
    await page.locator("#total", { hasText: "100,000 resources" }).waitFor({ timeout: 20_000 })
    await expect(page.locator('.count[data-status="alive"] .n').textContent()).resolves.toBe("100,000")
    await page.locator("#connection.live").waitFor()
    // The page holds only the rows on screen.
    expect(await page.locator("#rows .row").count()).toBeLessThan(50)
    // Natural order: web99999 is last (web10000 after web9999); the End key reaches it.
    await page.focus("#grid")
    await page.keyboard.press("End")
    await rowOf(page, "Fleet", lastName).waitFor()
    await expect(page.locator("#grid").getAttribute("aria-activedescendant")).resolves.toBe(`row-${fleet - 1}`)

    // Marks this document: a reload would lose the mark.
    await page.evaluate("window.sameDocument = true")
    await page.keyboard.press("Home")
    await page.fill("#search", lastName)
    const row = rowOf(page, "Fleet", lastName)
    await row.waitFor()
    await page.locator("#total", { hasText: "1 of 100,000 resources match" }).waitFor()
    await row.click()
    await page.locator("#detail-title", { hasText: `${lastName} (Fleet)` }).waitFor()

    // Pausing asks for the admin token once (kept for the tab), then the feed brings the change.
    await page.click("#action-pause")
    await page.locator("#token-dialog[open]").waitFor()
    await page.fill("#token-input", "admin-secret")
    await page.click('#token-form button[type="submit"]')
    await page.locator("#detail-summary .badge.paused").waitFor()
    await row.and(page.locator('[data-status="paused"]')).waitFor()
    await page.locator('.count[data-status="paused"] .n', { hasText: "1" }).waitFor()
    await expect(page.locator('.count[data-status="alive"] .n').textContent()).resolves.toBe("99,999")
    // Resuming needs no second question.
    await page.click("#action-resume")
    await row.and(page.locator('[data-status="alive"]')).waitFor()
    await expect(page.locator("#token-dialog[open]").count()).resolves.toBe(0)
    await expect(page.evaluate<boolean>("window.sameDocument")).resolves.toBe(true)
    expect(errors).toEqual([])
  })
})
