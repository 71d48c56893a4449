import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import type { Browser, Page } from "playwright-core"
import { launchChromium } from "./support/browser.ts"
import { freePort, makeWorkspace, type RunningDaemon, startDaemon } from "./support/daemonProcess.ts"
import { hashPassword } from "../src/support/passwordHash.ts"

// Issue 18.3's "done when": in real Chromium, a viewer scoped to one client signs in, sees only
// that client and is refused a pause; an operator can pause; a change without the CSRF token is
// refused.

const screenshots = resolve(import.meta.dirname, "screenshots")
const rowOf = (page: Page, client: string, resource: string) => page.locator(`#rows .row[data-resource="${client}/${resource}"]`)

describe("dashboard sign-in in headless Chromium (users and roles)", () => {
  let daemon: RunningDaemon
  let browser: Browser
  let url: string

  beforeAll(async () => {
    const httpPort = await freePort()
    url = `http://127.0.0.1:${httpPort}/`
    daemon = await startDaemon(makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
clients:
  Client1:
    token: t-one
    timeout: 60
    resources: { web1.example.com: {}, web2.example.com: {} }
  Client2:
    token: t-two
    timeout: 60
    resources: { db1.example.com: {} }
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: admin-secret
users:
  vera: { role: viewer, clients: [Client1], password: "${await hashPassword("vera's password")}" }
  otto: { role: operator, clients: [Client1], password: "${await hashPassword("otto's password")}" }
`), ["--notifier", "stdout"])
    browser = await launchChromium()
    mkdirSync(screenshots, { recursive: true })
  })

  afterAll(async () => {
    await browser?.close()
    await daemon?.stop("SIGKILL")
  })

  /** A fresh browser context (its own cookies), signed in through the dialog. */
  const signIn = async (user: string, password: string) => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } })
    const page = await context.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    await page.goto(url)
    await page.locator("#login-dialog[open]").waitFor()
    // Nothing is shown before signing in: the receiver refused the reads.
    await expect(page.locator("#rows .row").count()).resolves.toBe(0)
    await page.fill("#login-user", user)
    await page.fill("#login-password", "wrong")
    await page.click('#login-form button[type="submit"]')
    await page.locator("#login-error", { hasText: "wrong user name or password" }).waitFor()
    await page.fill("#login-password", password)
    await page.click('#login-form button[type="submit"]')
    await page.locator("#who:not([hidden])").waitFor()
    return { context, page, errors }
  }

  it("a viewer of Client1 sees only Client1 and is refused a pause; a change without the CSRF token is refused", async () => {
    const { context, page, errors } = await signIn("vera", "vera's password")
    await expect(page.locator("#who-name").textContent()).resolves.toBe("vera (viewer: Client1)")
    await rowOf(page, "Client1", "web2.example.com").waitFor()
    await page.locator("#total", { hasText: "2 resources" }).waitFor()
    await expect(page.locator("#rows .row").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-resource")).sort()))
      .resolves.toEqual(["Client1/web1.example.com", "Client1/web2.example.com"])
    await expect(page.locator("#client-filter option").evaluateAll((options) => options.map((option) => option.getAttribute("value"))))
      .resolves.toEqual(["", "Client1"])
    // The session cookie is out of the page's reach (HttpOnly).
    await expect(page.evaluate<string>("document.cookie")).resolves.toBe("")
    await page.locator("#connection.live").waitFor()

    await rowOf(page, "Client1", "web1.example.com").click()
    await page.locator("#detail-title", { hasText: "web1.example.com (Client1)" }).waitFor()
    await page.click("#action-pause")
    await page.locator("#action-message", { hasText: "403 user vera (viewer) may not pause in client Client1" }).waitFor()
    await expect(page.locator("#token-dialog[open]").count()).resolves.toBe(0)
    await page.screenshot({ path: join(screenshots, "dashboard-viewer-refused.png"), fullPage: true })

    // Another client's resource does not exist for her, even asked for by name.
    const other = await page.evaluate<number>("fetch('/api/resources/Client2/db1.example.com').then((r) => r.status)")
    expect(other).toBe(404)
    // The cookie alone (no X-CSRF-Token), as a forged request would carry it: refused.
    const forged = await page.evaluate<number>("fetch('/api/resources/Client1/web1.example.com/pause', { method: 'POST' }).then((r) => r.status)")
    expect(forged).toBe(403)
    expect(errors).toEqual([])
    await context.close()
  })

  it("an operator of Client1 pauses and resumes from the dashboard; a request without the CSRF token is refused", async () => {
    const { context, page, errors } = await signIn("otto", "otto's password")
    const row = rowOf(page, "Client1", "web1.example.com")
    await row.waitFor()
    await page.locator("#connection.live").waitFor()
    const forged = await page.evaluate<number>("fetch('/api/resources/Client1/web1.example.com/pause', { method: 'POST' }).then((r) => r.status)")
    expect(forged).toBe(403)
    await expect(row.getAttribute("data-status")).resolves.toBe("not_registered")

    await row.click()
    await page.locator("#detail-title", { hasText: "web1.example.com (Client1)" }).waitFor()
    await page.click("#action-pause")
    await page.locator("#action-message", { hasText: "Paused." }).waitFor()
    await row.and(page.locator('[data-status="paused"]')).waitFor()
    await page.locator('.count[data-status="paused"] .n', { hasText: "1" }).waitFor()
    await page.screenshot({ path: join(screenshots, "dashboard-operator-paused.png"), fullPage: true })
    await page.click("#action-resume")
    await row.and(page.locator('[data-status="not_registered"]')).waitFor()

    // Signing out ends the session: the page asks to sign in again.
    await page.click("#detail-close")
    await page.click("#sign-out")
    await page.locator("#login-dialog[open]").waitFor()
    const after = await page.evaluate<number>("fetch('/api/resources').then((r) => r.status)")
    expect(after).toBe(401)
    expect(errors).toEqual([])
    await context.close()
  })

  it("an operator silences a resource from the dashboard with a reason, sees it in the detail and the timeline, and lifts it", async () => {
    const { context, page, errors } = await signIn("otto", "otto's password")
    const row = rowOf(page, "Client1", "web2.example.com")
    await row.waitFor()
    await row.click()
    await page.locator("#detail-title", { hasText: "web2.example.com (Client1)" }).waitFor()
    await expect(page.locator("#silence-note").isHidden()).resolves.toBe(true)
    await page.click("#action-silence")
    await page.selectOption("#silence-duration", "4h")
    await page.fill("#silence-reason", "replacing the disk")
    await page.click('#silence-form button[type="submit"]')
    await page.locator("#action-message", { hasText: "Silenced until" }).waitFor()
    await page.locator("#silence-note", { hasText: "by otto: replacing the disk" }).waitFor()
    await page.locator("#silence-form").waitFor({ state: "hidden" })
    await page.locator('#timeline li[data-kind="silenced"]', { hasText: "silenced by otto until" }).waitFor()
    // The receiver has it, set by the session (with its CSRF token), for four hours.
    const silences = await page.evaluate<{ items: Array<{ resource: string; by: string; from: string; until: string }> }>("fetch('/api/silences').then((r) => r.json())")
    expect(silences.items.map((item) => [item.resource, item.by, Date.parse(item.until) - Date.parse(item.from)])).toEqual([["web2.example.com", "otto", 4 * 3600_000]])
    await page.screenshot({ path: join(screenshots, "dashboard-operator-silenced.png"), fullPage: true })
    await page.click("#action-unsilence")
    await page.locator("#action-message", { hasText: "Silence lifted." }).waitFor()
    // The message comes first, then the detail is read again: wait for the note to go.
    await page.locator("#silence-note").waitFor({ state: "hidden" })
    await page.locator('#timeline li[data-kind="unsilenced"]', { hasText: "silence lifted by otto" }).waitFor()
    await expect(page.evaluate<number>("fetch('/api/silences').then((r) => r.json()).then((b) => b.items.length)")).resolves.toBe(0)
    expect(errors).toEqual([])
    await context.close()
  })
})
