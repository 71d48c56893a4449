// Recent events: the receiver's notifications, newest first, filtered by event and severity, with
// repeats (same event for the same resource) collapsed into one line with a count, so a resource
// that times out every minute shows once, not sixty times an hour.
import { getJson } from "./api.js"
import { shortEvent } from "./detail.js"
import { el } from "./format.js"

const kept = 1000

export function createEvents({ list, eventFilter, severityFilter, onError }) {
  /** Newest first. */
  let events = []
  const seenEvents = new Set()
  const seenSeverities = new Set()

  function remember(event) {
    for (const [set, select, value] of [[seenEvents, eventFilter, event.event], [seenSeverities, severityFilter, event.severity]]) {
      if (value === undefined || set.has(value)) continue
      set.add(value)
      const options = [...set].sort()
      const chosen = select.value
      select.replaceChildren(select.options[0], ...options.map((option) => new Option(select === eventFilter ? shortEvent(option) : option, option)))
      select.value = chosen
    }
  }

  function render() {
    const wantedEvent = eventFilter.value
    const wantedSeverity = severityFilter.value
    // Collapsed by (event, client, resource): the newest of each stays in place, with the count.
    const groups = new Map()
    const order = []
    for (const event of events) {
      if (wantedEvent && event.event !== wantedEvent) continue
      if (wantedSeverity && event.severity !== wantedSeverity) continue
      const key = `${event.event}\u0000${event.client ?? ""}\u0000${event.resource}`
      const group = groups.get(key)
      if (group) {
        group.count++
        group.oldest = event
      } else {
        const fresh = { newest: event, oldest: event, count: 1 }
        groups.set(key, fresh)
        order.push(fresh)
      }
    }
    list.replaceChildren(...order.slice(0, 200).map(({ newest, oldest, count }) => {
      const li = el("li", `sev-${newest.severity}`)
      li.dataset.event = newest.event
      const time = el("time", "", new Date(newest.at).toLocaleTimeString())
      time.dateTime = newest.at
      li.append(time, el("span", "event", shortEvent(newest.event)))
      if (count > 1) {
        const repeats = el("span", "repeats", `×${count}`)
        repeats.title = `${count} times since ${new Date(oldest.at).toLocaleString()}`
        li.append(repeats)
      }
      li.append(document.createTextNode(` ${newest.resource}${newest.client ? ` (${newest.client})` : ""}: ${newest.text ?? ""}`))
      return li
    }))
  }

  eventFilter.addEventListener("input", render)
  severityFilter.addEventListener("input", render)

  return {
    async load() {
      try {
        const { body } = await getJson("/api/events?limit=1000")
        events = body.items
        for (const event of events) remember(event)
        render()
      } catch (error) {
        onError(error)
      }
    },
    add(event) {
      events.unshift(event)
      if (events.length > kept) events.length = kept
      remember(event)
      render()
    }
  }
}
