// Sign-in (users and roles, issue 18.3). The receiver says who this tab is (GET /api/session):
// a session cookie (HttpOnly: this script never sees it), a token kept by api.js, or nobody.
// When nobody and the receiver has users, the sign-in dialog comes first; a signed-in person
// sees their name and role and can sign out. The page itself never holds a password.
import { session, signOut } from "./api.js"

const $ = (selector) => document.querySelector(selector)

function showWho(who) {
  const box = $("#who")
  if (!who.user || who.via !== "session") return
  $("#who-name").textContent = `${who.user} (${who.role}${who.clients.includes("*") ? "" : `: ${who.clients.join(", ")}`})`
  box.hidden = false
  $("#sign-out").onclick = async () => {
    await signOut()
    location.reload()
  }
}

function askToSignIn() {
  return new Promise(() => {
    const dialog = $("#login-dialog")
    const error = $("#login-error")
    dialog.oncancel = (event) => event.preventDefault()
    $("#login-form").onsubmit = async (event) => {
      event.preventDefault()
      error.hidden = true
      const response = await fetch("/api/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: $("#login-user").value.trim(), password: $("#login-password").value })
      })
      $("#login-password").value = ""
      if (response.ok) {
        // The cookie is set: start again as the signed-in user.
        location.reload()
        return
      }
      const body = await response.json().catch(() => ({}))
      error.textContent = body.error ?? `the receiver answered ${response.status}`
      error.hidden = false
    }
    dialog.showModal()
    $("#login-user").focus()
  })
}

/**
 * Resolves once this tab may read: at once when reads are open, a token is kept or a session is
 * on; otherwise after the person signs in (the page reloads then, so it never resolves here).
 */
export const signedIn = session.load().then((who) => {
  showWho(who)
  return who.user === null && who.login ? askToSignIn() : who
})
