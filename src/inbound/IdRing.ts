/**
 * A bounded set of recent ids that forgets the oldest first, in O(1) per add. Deleting the first
 * element of a Set instead leaves holes that every later "first element" lookup walks over.
 */
export class IdRing {
  private readonly ids = new Set<string>()
  private readonly ring: Array<string> = []
  private next = 0

  constructor(readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id)
  }

  /** Remembers `id`; false when it was remembered already. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false
    this.ids.add(id)
    if (this.ring.length < this.capacity) {
      this.ring.push(id)
    } else {
      this.ids.delete(this.ring[this.next]!)
      this.ring[this.next] = id
      this.next = (this.next + 1) % this.capacity
    }
    return true
  }
}
