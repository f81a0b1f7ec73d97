/**
 * A bounded memory of recent ids, in scopes (a guild node: message ids are unique only within
 * one), that forgets the oldest first whatever its scope, in O(1) per add. Each scope is a plain
 * `Set` of the ids as they arrived, so a message id is hashed once (V8 keeps a string's hash)
 * and no key is built per message. Deleting the first element of a Set instead of keeping the
 * ring leaves holes that every later "first element" lookup walks over.
 */
export class IdRing {
  private readonly scopes = new Map<string, Set<string>>()
  /** The remembered ids in arrival order, and the scope each belongs to. */
  private readonly ids: Array<string> = []
  private readonly sets: Array<Set<string>> = []
  private next = 0

  constructor(readonly capacity: number) {}

  /** The ids of `scope`: a view whose adds count against this ring's capacity. */
  scope(scope: string): ScopedIds {
    let ids = this.scopes.get(scope)
    if (ids === undefined) {
      ids = new Set()
      this.scopes.set(scope, ids)
    }
    return new ScopedIds(this, ids)
  }

  /** Remembers `id` in `ids` (the caller checked it was not there), forgetting the oldest if full. */
  remember(ids: Set<string>, id: string): void {
    ids.add(id)
    if (this.ids.length < this.capacity) {
      this.ids.push(id)
      this.sets.push(ids)
    } else {
      this.sets[this.next]!.delete(this.ids[this.next]!)
      this.ids[this.next] = id
      this.sets[this.next] = ids
      this.next = (this.next + 1) % this.capacity
    }
  }
}

/** The ids one scope of an `IdRing` remembers. */
export class ScopedIds {
  constructor(private readonly ring: IdRing, private readonly ids: Set<string>) {}

  has(id: string): boolean {
    return this.ids.has(id)
  }

  /** Remembers `id`; false when it was remembered already. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false
    this.ring.remember(this.ids, id)
    return true
  }
}
