/**
 * A bounded memory of recent ids, in scopes (a guild node: message ids are unique only within
 * one), that forgets the oldest first whatever its scope, in O(1) per add. Each scope is a plain
 * `Map` of the ids as they arrived, so a message id is hashed once (V8 keeps a string's hash)
 * and no key is built per message; its value says whether the message was delivered, so one
 * entry answers both questions. Deleting the first entry of a Map instead of keeping the ring
 * leaves holes that every later "first entry" lookup walks over.
 */
export class IdRing {
  private readonly scopes = new Map<string, Map<string, boolean>>()
  /** The remembered ids in arrival order, and the scope each belongs to. */
  private readonly ids: Array<string> = []
  private readonly maps: Array<Map<string, boolean>> = []
  private next = 0

  constructor(readonly capacity: number) {}

  /** The ids of `scope`: a view whose adds count against this ring's capacity. */
  scope(scope: string): ScopedIds {
    let ids = this.scopes.get(scope)
    if (ids === undefined) {
      ids = new Map()
      this.scopes.set(scope, ids)
    }
    return new ScopedIds(this, ids)
  }

  /** Remembers `id` in `ids` (the caller checked it was not there), forgetting the oldest if full. */
  remember(ids: Map<string, boolean>, id: string, delivered: boolean): void {
    ids.set(id, delivered)
    if (this.ids.length < this.capacity) {
      this.ids.push(id)
      this.maps.push(ids)
    } else {
      this.maps[this.next]!.delete(this.ids[this.next]!)
      this.ids[this.next] = id
      this.maps[this.next] = ids
      this.next = (this.next + 1) % this.capacity
    }
  }
}

/** The ids one scope of an `IdRing` remembers: each seen, and maybe delivered. */
export class ScopedIds {
  constructor(private readonly ring: IdRing, private readonly ids: Map<string, boolean>) {}

  has(id: string): boolean {
    return this.ids.has(id)
  }

  /** Remembers `id` as seen; false when it was remembered already. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false
    this.ring.remember(this.ids, id, false)
    return true
  }

  /** Remembers `id` as delivered (seen too, if it was not). */
  addDelivered(id: string): void {
    const delivered = this.ids.get(id)
    if (delivered === undefined) this.ring.remember(this.ids, id, true)
    else if (!delivered) this.ids.set(id, true)
  }

  wasDelivered(id: string): boolean {
    return this.ids.get(id) === true
  }
}
