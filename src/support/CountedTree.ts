/**
 * An ordered set with positions: a B+tree whose branches count the items below them, so that
 * insert, remove, "how many come before this key" and "the item at position p" all cost
 * O(log n), and walking on from a position costs O(1) per item (the leaves are linked).
 *
 * Items are ordered by `compare` on their keys. An item's key must not change while it is in the
 * tree (take it out, change it, put it back). The branches keep separator keys made by `keyOf`
 * (copies, so a separator never changes when an item later does). A separator only bounds its
 * children (every item left of it is smaller, every item from it on is not), so removing items
 * never has to touch a separator.
 */

interface Leaf<T> {
  readonly leaf: true
  items: Array<T>
  prev: Leaf<T> | undefined
  next: Leaf<T> | undefined
}

interface Branch<K, T> {
  readonly leaf: false
  children: Array<TreeNode<K, T>>
  /** `keys[i]` bounds `children[i]` from below (`keys[0]` is unused). */
  keys: Array<K | undefined>
  size: number
}

type TreeNode<K, T> = Leaf<T> | Branch<K, T>

/** Where an item sits: its leaf and its index in that leaf. */
export interface TreePosition<T> {
  readonly leaf: Leaf<T>
  readonly index: number
}

/** Most items in a leaf and children in a branch; a node with fewer than a quarter is merged. */
const maxFill = 64
const minFill = maxFill / 4

const sizeOf = <K, T>(node: TreeNode<K, T>): number => (node.leaf ? node.items.length : node.size)
const fillOf = <K, T>(node: TreeNode<K, T>): number => (node.leaf ? node.items.length : node.children.length)
const newLeaf = <T>(items: Array<T>): Leaf<T> => ({ leaf: true, items, prev: undefined, next: undefined })

/** How many of the (ordered) `items` satisfy `before`, a predicate true for a prefix of them. */
const countWhere = <T>(items: ReadonlyArray<T>, before: (item: T) => boolean): number => {
  let low = 0
  let high = items.length
  while (low < high) {
    const middle = (low + high) >> 1
    if (before(items[middle]!)) low = middle + 1
    else high = middle
  }
  return low
}

/** The last child whose separator satisfies `before` (a prefix predicate), or the first child. */
const lastChildBefore = <K, T>(branch: Branch<K, T>, before: (key: K) => boolean): number => {
  const keys = branch.keys
  let low = 1
  let high = keys.length - 1
  let chosen = 0
  while (low <= high) {
    const middle = (low + high) >> 1
    if (before(keys[middle]!)) {
      chosen = middle
      low = middle + 1
    } else {
      high = middle - 1
    }
  }
  return chosen
}

export class CountedTree<K, T extends K> {
  private root: TreeNode<K, T> = newLeaf([])
  private readonly compare: (a: K, b: K) => number
  private readonly keyOf: (item: T) => K

  constructor(compare: (a: K, b: K) => number, keyOf: (item: T) => K) {
    this.compare = compare
    this.keyOf = keyOf
  }

  get size(): number {
    return sizeOf(this.root)
  }

  insert(item: T): void {
    const split = this.insertInto(this.root, item)
    if (split !== undefined) {
      const left = this.root
      this.root = { leaf: false, children: [left, split.node], keys: [undefined, split.key], size: sizeOf(left) + sizeOf(split.node) }
    }
  }

  /** Takes `item` out (found by its key); false when it is not in the tree. */
  remove(item: T): boolean {
    const removed = this.removeFrom(this.root, item)
    while (!this.root.leaf && this.root.children.length === 1) this.root = this.root.children[0]!
    return removed
  }

  /**
   * How many items satisfy `before`, a predicate true for a prefix of the order (every item
   * smaller than one that satisfies it satisfies it too): the position where that prefix ends.
   */
  countBefore(before: (key: K) => boolean): number {
    let count = 0
    let node = this.root
    while (!node.leaf) {
      // The last child whose lower bound is still before the target: everything left of it is.
      const chosen = lastChildBefore(node, before)
      for (let i = 0; i < chosen; i++) count += sizeOf(node.children[i]!)
      node = node.children[chosen]!
    }
    return count + countWhere(node.items, before)
  }

  /** The position of the item at `offset` (0-based); undefined past the end. */
  at(offset: number): TreePosition<T> | undefined {
    if (offset < 0 || offset >= this.size) return undefined
    let node = this.root
    let rest = offset
    while (!node.leaf) {
      let i = 0
      while (rest >= sizeOf(node.children[i]!)) rest -= sizeOf(node.children[i++]!)
      node = node.children[i]!
    }
    return { leaf: node, index: rest }
  }

  /**
   * Calls `visit` on the items from position `offset` on, in order, until it returns false or
   * the items run out. The tree must not change during the walk.
   */
  forEachFrom(offset: number, visit: (item: T) => boolean): void {
    const start = this.at(offset)
    if (start === undefined) return
    let leaf: Leaf<T> | undefined = start.leaf
    let index = start.index
    while (leaf !== undefined) {
      const items = leaf.items
      for (; index < items.length; index++) if (!visit(items[index]!)) return
      leaf = leaf.next
      index = 0
    }
  }

  /** Every item in order (tests and checks; a scan of a big tree should go by positions). */
  toArray(): Array<T> {
    const all: Array<T> = []
    this.forEachFrom(0, (item) => {
      all.push(item)
      return true
    })
    return all
  }

  /** The child of `branch` that holds (or would hold) `key`. */
  private childIndex(branch: Branch<K, T>, key: K): number {
    return lastChildBefore(branch, (separator) => this.compare(separator, key) <= 0)
  }

  private insertInto(node: TreeNode<K, T>, item: T): { node: TreeNode<K, T>; key: K } | undefined {
    if (node.leaf) {
      const items = node.items
      items.splice(countWhere(items, (other) => this.compare(other, item) <= 0), 0, item)
      return items.length > maxFill ? this.split(node) : undefined
    }
    const index = this.childIndex(node, item)
    node.size++
    const split = this.insertInto(node.children[index]!, item)
    if (split === undefined) return undefined
    node.children.splice(index + 1, 0, split.node)
    node.keys.splice(index + 1, 0, split.key)
    return node.children.length > maxFill ? this.split(node) : undefined
  }

  /** Splits an overfull node in halves: the right half and the separator that bounds it. */
  private split(node: TreeNode<K, T>): { node: TreeNode<K, T>; key: K } {
    if (node.leaf) {
      const right = newLeaf(node.items.splice(node.items.length >> 1))
      right.prev = node
      right.next = node.next
      if (node.next !== undefined) node.next.prev = right
      node.next = right
      return { node: right, key: this.keyOf(right.items[0]!) }
    }
    const half = node.children.length >> 1
    const children = node.children.splice(half)
    const keys = node.keys.splice(half)
    const key = keys[0]!
    keys[0] = undefined
    let size = 0
    for (const child of children) size += sizeOf(child)
    node.size -= size
    return { node: { leaf: false, children, keys, size }, key }
  }

  private removeFrom(node: TreeNode<K, T>, item: T): boolean {
    if (node.leaf) {
      const items = node.items
      const low = countWhere(items, (other) => this.compare(other, item) < 0)
      if (low >= items.length || this.compare(items[low]!, item) !== 0) return false
      items.splice(low, 1)
      return true
    }
    const index = this.childIndex(node, item)
    const child = node.children[index]!
    if (!this.removeFrom(child, item)) return false
    node.size--
    if (fillOf(child) < minFill && node.children.length > 1) this.rebalance(node, index)
    return true
  }

  /** Merges an underfull child with a neighbour, splitting the result again if it overflows. */
  private rebalance(parent: Branch<K, T>, index: number): void {
    const leftIndex = index + 1 < parent.children.length ? index : index - 1
    const rightIndex = leftIndex + 1
    const left = parent.children[leftIndex]!
    const right = parent.children[rightIndex]!
    if (left.leaf && right.leaf) {
      for (const item of right.items) left.items.push(item)
      left.next = right.next
      if (right.next !== undefined) right.next.prev = left
    } else if (!left.leaf && !right.leaf) {
      left.keys.push(parent.keys[rightIndex])
      for (let i = 1; i < right.keys.length; i++) left.keys.push(right.keys[i])
      for (const child of right.children) left.children.push(child)
      left.size += right.size
    }
    parent.children.splice(rightIndex, 1)
    parent.keys.splice(rightIndex, 1)
    if (fillOf(left) > maxFill) {
      const split = this.split(left)
      parent.children.splice(rightIndex, 0, split.node)
      parent.keys.splice(rightIndex, 0, split.key)
    }
  }
}
