export interface PartitionTenureOptions {
  /**
   * How long a member waits after gaining a partition before it processes it: the time
   * the member that lost it has to finish the step it was in. Kafka hands a partition
   * over as soon as the group is rebalanced, not when its former holder is done.
   */
  handoverMs: number
  /**
   * How long after its last successful heartbeat a member still takes itself for the
   * holder of its partitions. The group's coordinator gives them away one session timeout
   * after the last heartbeat it received, and their new holder waits `handoverMs` more:
   * with `leaseMs + handoverMs <= sessionTimeout`, a member cut off from its coordinator
   * stops starting steps before anyone else can start.
   */
  leaseMs: number
  now?: () => number
}

/** One holding of a partition: which it is (a partition lost and regained is a new one) and since when. */
interface Holding {
  epoch: number
  since: number
}

/**
 * Which partitions a consumer group member holds, since when, and whether its membership
 * is current: the member's side of handing a partition over without two holders at
 * once. A message is processed only under the holding it was read in; a partition just
 * gained is processed after the handover time; a member whose heartbeats stopped
 * succeeding stops starting steps until they succeed again.
 */
export interface PartitionTenure {
  /**
   * The member's partitions after a (re)join: new ones start a holding, missing ones end
   * theirs. Returns the partitions whose holding starts now (gained, or lost and regained).
   */
  assigned(partitions: Iterable<number>): number[]
  /**
   * The group is rebalancing: until the member's next join completes, its holdings are
   * in doubt (the coordinator may give them away at the join), so no step starts.
   */
  rebalancing(): void
  /** The member left the group (its consumer ended): it holds nothing any more. */
  released(): void
  /** A heartbeat the coordinator accepted: the membership is current. */
  heartbeat(): void
  /** The holding a message read now belongs to; undefined when the partition is not held. */
  epochOf(partition: number): number | undefined
  /** Whether the holding `epoch` of `partition` is still this member's. */
  holds(partition: number, epoch: number): boolean
  /** Milliseconds until a step on these partitions may start (0: now). */
  waitBefore(partitions: Iterable<number>): number
  /** Whether the last accepted heartbeat is recent enough to start a step. */
  current(): boolean
  /** Calls `listener` whenever a partition is lost; returns the unsubscribe. */
  onLoss(listener: () => void): () => void
}

export function createPartitionTenure(options: PartitionTenureOptions): PartitionTenure {
  const now = options.now ?? Date.now
  const held = new Map<number, Holding>()
  const listeners = new Set<() => void>()
  let epoch = 0
  let lastHeartbeat = Number.NEGATIVE_INFINITY
  return {
    assigned(partitions) {
      const at = now()
      const next = new Set(partitions)
      let lost = false
      for (const partition of held.keys()) {
        if (!next.has(partition)) {
          held.delete(partition)
          lost = true
        }
      }
      const gained: number[] = []
      for (const partition of next) {
        if (held.has(partition)) continue
        held.set(partition, { epoch: ++epoch, since: at })
        gained.push(partition)
      }
      // A completed join is as good as a heartbeat: the coordinator just answered.
      lastHeartbeat = at
      if (lost) for (const listener of listeners) listener()
      return gained
    },
    rebalancing() {
      lastHeartbeat = Number.NEGATIVE_INFINITY
    },
    released() {
      const lost = held.size > 0
      held.clear()
      lastHeartbeat = Number.NEGATIVE_INFINITY
      if (lost) for (const listener of listeners) listener()
    },
    heartbeat() {
      lastHeartbeat = now()
    },
    epochOf: (partition) => held.get(partition)?.epoch,
    holds: (partition, holding) => held.get(partition)?.epoch === holding,
    waitBefore(partitions) {
      const at = now()
      let wait = 0
      for (const partition of partitions) {
        const holding = held.get(partition)
        if (holding) wait = Math.max(wait, holding.since + options.handoverMs - at)
      }
      return wait
    },
    current: () => now() - lastHeartbeat <= options.leaseMs,
    onLoss(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
