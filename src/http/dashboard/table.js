// The resource table: virtualized over the server's paging. Only the rows on screen exist in the
// page (a small pool of row elements, reused); they are filled from pages of 100 fetched by
// position (`offset`), so any of a million resources is one scroll, or one End key, away. The
// server sorts, filters and searches; the table only asks for the rows it shows.
import { getJson } from "./api.js"
import { badge, deadlineText, el, human, keyOf, number, since } from "./format.js"

const pageSize = 100
/** Browsers cap an element's height (Firefox near 17.9 million px): past this the scroll is scaled. */
const maxSpacerPx = 8_000_000

export function createTable({ grid, viewport, spacer, rowsBox, empty, onOpen, onPage, onError }) {
  let query = { q: "", status: "", client: "", sort: "status" }
  let generation = 0
  let total = 0
  let known = false
  /** page index -> { views, generation } */
  const pages = new Map()
  const loading = new Map()
  let active = -1
  let rowHeight = 36
  const pool = []

  const pageParams = (page) => {
    const params = new URLSearchParams({ limit: String(pageSize), offset: String(page * pageSize), sort: query.sort })
    if (query.status) params.set("status", query.status)
    if (query.client) params.set("client", query.client)
    if (query.q) params.set("q", query.q)
    return params
  }

  function load(page) {
    const key = `${generation}:${page}`
    if (loading.has(key)) return loading.get(key)
    const asked = generation
    const promise = getJson(`/api/resources?${pageParams(page)}`)
      .then(({ body, headers }) => {
        if (asked !== generation) return
        pages.set(page, { views: body, generation: asked })
        const count = Number(headers.get("x-total-count"))
        if (!known || count !== total) {
          total = count
          known = true
          layout()
        }
        onPage?.(headers, total)
        render()
      })
      .catch((error) => asked === generation && onError(error))
      .finally(() => loading.delete(key))
    loading.set(key, promise)
    return promise
  }

  /** The scroll position as a row position, scaled when the list is taller than a browser allows. */
  function geometry() {
    const viewHeight = viewport.clientHeight
    const fullHeight = total * rowHeight
    const spacerHeight = Math.min(fullHeight, maxSpacerPx)
    const maxScroll = Math.max(0, spacerHeight - viewHeight)
    const maxVirtual = Math.max(0, fullHeight - viewHeight)
    const virtualTop = maxScroll > 0 ? (viewport.scrollTop / maxScroll) * maxVirtual : 0
    const first = Math.min(Math.floor(virtualTop / rowHeight), Math.max(0, total - 1))
    return { viewHeight, spacerHeight, maxScroll, maxVirtual, virtualTop, first, visible: Math.ceil(viewHeight / rowHeight) + 1 }
  }

  function layout() {
    spacer.style.height = `${Math.min(total * rowHeight, maxSpacerPx)}px`
    grid.setAttribute("aria-rowcount", String(total + 1))
    empty.hidden = !known || total > 0
    render()
  }

  function rowElement(i) {
    while (pool.length <= i) {
      const row = el("div", "row")
      row.setAttribute("role", "row")
      for (const name of ["status", "name", "client", "seen", "deadline", "timeout wide"]) {
        const cell = el("span", name)
        cell.setAttribute("role", "gridcell")
        row.append(cell)
      }
      row.addEventListener("click", () => {
        const index = Number(row.dataset.index)
        setActive(index)
        const view = viewAt(index)
        if (view) onOpen(view)
      })
      rowsBox.append(row)
      pool.push(row)
    }
    return pool[i]
  }

  const viewAt = (index) => pages.get(Math.floor(index / pageSize))?.views[index % pageSize]

  function fill(row, index, view, now) {
    row.dataset.index = String(index)
    row.id = `row-${index}`
    row.setAttribute("aria-rowindex", String(index + 2))
    row.classList.toggle("active", index === active)
    row.setAttribute("aria-selected", index === active ? "true" : "false")
    const [statusCell, nameCell, clientCell, seenCell, deadlineCell, timeoutCell] = row.children
    if (!view) {
      row.dataset.resource = ""
      row.dataset.status = ""
      row.classList.add("loading")
      statusCell.replaceChildren()
      nameCell.textContent = "…"
      clientCell.textContent = seenCell.textContent = deadlineCell.textContent = timeoutCell.textContent = ""
      return
    }
    row.classList.remove("loading")
    row.dataset.resource = `${view.client}/${view.resource}`
    row.dataset.status = view.status
    statusCell.replaceChildren(badge(view.status))
    nameCell.textContent = view.resource
    clientCell.textContent = view.client
    seenCell.textContent = since(view.lastSeen, now)
    const deadline = deadlineText(view, now)
    deadlineCell.textContent = deadline.text
    deadlineCell.classList.toggle("overdue", deadline.overdue)
    timeoutCell.textContent = view.timeoutSeconds === null ? "" : human(view.timeoutSeconds * 1000)
  }

  function render() {
    const g = geometry()
    const count = known ? Math.max(0, Math.min(g.visible, total - g.first)) : 0
    rowsBox.style.transform = `translateY(${viewport.scrollTop - (g.virtualTop - g.first * rowHeight)}px)`
    const now = Date.now()
    for (let i = 0; i < count; i++) {
      const row = rowElement(i)
      row.hidden = false
      fill(row, g.first + i, viewAt(g.first + i), now)
    }
    for (let i = count; i < pool.length; i++) pool[i].hidden = true
    // The rows' height comes from the style sheet (a card on a phone): measured, not assumed.
    const measured = count > 0 ? pool[0].getBoundingClientRect().height : 0
    if (measured > 0 && Math.abs(measured - rowHeight) > 0.5) {
      rowHeight = measured
      layout()
      return
    }
    if (active >= g.first && active < g.first + count) grid.setAttribute("aria-activedescendant", `row-${active}`)
    else grid.removeAttribute("aria-activedescendant")
    // Ask for the pages on screen that are missing or from before the last refresh.
    if (known) {
      const lastPage = Math.floor(Math.max(0, g.first + count - 1) / pageSize)
      for (let page = Math.floor(g.first / pageSize); page <= lastPage; page++) {
        if (pages.get(page)?.generation !== generation) load(page)
      }
    }
  }

  /** Scrolls so that row `index` is on screen. */
  function reveal(index) {
    const g = geometry()
    let virtualTop = g.virtualTop
    if (index * rowHeight < virtualTop) virtualTop = index * rowHeight
    else if ((index + 1) * rowHeight > virtualTop + g.viewHeight) virtualTop = (index + 1) * rowHeight - g.viewHeight
    viewport.scrollTop = g.maxVirtual > 0 ? (virtualTop / g.maxVirtual) * g.maxScroll : 0
  }

  function setActive(index) {
    active = Math.max(0, Math.min(index, total - 1))
    reveal(active)
    render()
  }

  grid.addEventListener("keydown", (event) => {
    if (total === 0) return
    const page = Math.max(1, geometry().visible - 2)
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page }
    if (event.key in moves) setActive((active < 0 ? -1 : active) + moves[event.key])
    else if (event.key === "Home") setActive(0)
    else if (event.key === "End") setActive(total - 1)
    else if (event.key === "Enter" && active >= 0) {
      const view = viewAt(active)
      if (view) onOpen(view)
    } else return
    event.preventDefault()
  })
  grid.addEventListener("focus", () => {
    if (active < 0 && total > 0) setActive(geometry().first)
  })

  let frame = 0
  viewport.addEventListener("scroll", () => {
    cancelAnimationFrame(frame)
    frame = requestAnimationFrame(render)
  })
  new ResizeObserver(() => layout()).observe(viewport)

  return {
    /** New filters or order: back to the top, everything asked again. */
    setQuery(next) {
      query = { ...query, ...next }
      generation++
      pages.clear()
      known = false
      active = -1
      viewport.scrollTop = 0
      load(0)
    },
    get query() {
      return query
    },
    /** The rows on screen asked again (a changed status moves rows; ETags make unchanged pages cheap). */
    refresh() {
      generation++
      const g = geometry()
      const keep = new Set()
      for (let page = Math.floor(g.first / pageSize); page <= Math.floor((g.first + g.visible) / pageSize); page++) keep.add(page)
      for (const page of pages.keys()) if (!keep.has(page)) pages.delete(page)
      if (pages.size === 0) load(0)
      render()
    },
    /** Heartbeats from the feed, applied to the rows held; true when one changed status. */
    applyHeartbeats(beats) {
      const byKey = new Map(beats.map((beat) => [keyOf(beat.client, beat.resource), beat]))
      let moved = false
      for (const { views } of pages.values()) {
        for (const view of views) {
          const beat = byKey.get(keyOf(view.client, view.resource))
          if (!beat) continue
          if (beat.status !== view.status) moved = true
          view.lastSeen = beat.at
          view.status = beat.status
          view.deadline = beat.deadline
        }
      }
      render()
      return moved
    },
    /** Whole views (or removals) from the feed, applied to the rows held. */
    applyResources(items) {
      const byKey = new Map(items.map((item) => [keyOf(item.client, item.resource), item]))
      for (const { views } of pages.values()) {
        for (let i = 0; i < views.length; i++) {
          const item = byKey.get(keyOf(views[i].client, views[i].resource))
          if (item && !item.removed) views[i] = item
        }
      }
      render()
    },
    render,
    get total() {
      return total
    },
    totalLabel: () => number(total)
  }
}
