import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPartitionTenure } from './partition-tenure.ts'

function clocked() {
  let now = 1_000
  const tenure = createPartitionTenure({ handoverMs: 5_000, leaseMs: 5_000, now: () => now })
  return { tenure, advance: (ms: number) => (now += ms) }
}

test('a partition just gained waits for the handover; one kept across a rejoin does not', () => {
  const { tenure, advance } = clocked()
  assert.deepEqual(tenure.assigned([0, 1]), [0, 1])
  assert.equal(tenure.waitBefore([0]), 5_000)
  advance(5_000)
  assert.equal(tenure.waitBefore([0, 1]), 0)
  assert.deepEqual(tenure.assigned([0, 2]), [2], 'only partition 2 starts a holding')
  assert.equal(tenure.waitBefore([0]), 0, 'partition 0 was held throughout')
  assert.equal(tenure.waitBefore([0, 2]), 5_000, 'partition 2 is new')
})

test('a message is processed only under the holding it was read in', () => {
  const { tenure } = clocked()
  tenure.assigned([0])
  const readIn = tenure.epochOf(0)!
  assert.equal(tenure.holds(0, readIn), true)
  tenure.assigned([])
  assert.equal(tenure.epochOf(0), undefined)
  assert.deepEqual(tenure.assigned([0]), [0], 'a partition regained starts a holding again')
  assert.equal(tenure.holds(0, readIn), false, 'lost and regained: a read from before is stale')
  assert.equal(tenure.holds(0, tenure.epochOf(0)!), true)
})

test('losing a partition is told; the membership lapses without heartbeats', () => {
  const { tenure, advance } = clocked()
  let losses = 0
  const unsubscribe = tenure.onLoss(() => losses++)
  tenure.assigned([0, 1])
  tenure.assigned([0, 1, 2])
  assert.equal(losses, 0)
  tenure.assigned([1])
  assert.equal(losses, 1)
  unsubscribe()
  tenure.assigned([])
  assert.equal(losses, 1)
  assert.equal(tenure.current(), true)
  advance(5_001)
  assert.equal(tenure.current(), false)
  tenure.heartbeat()
  assert.equal(tenure.current(), true)
})

test('while the group rebalances no step starts; a rejoin keeps what the member still holds', () => {
  const { tenure } = clocked()
  tenure.assigned([0, 1])
  const readIn = tenure.epochOf(0)!
  tenure.rebalancing()
  assert.equal(tenure.current(), false)
  assert.equal(tenure.holds(0, readIn), true, 'nothing is lost until the join says so')
  tenure.assigned([0])
  assert.equal(tenure.current(), true)
  assert.equal(tenure.holds(0, readIn), true)
  assert.equal(tenure.epochOf(1), undefined)
})

test('a member that left the group holds nothing, and is told so', () => {
  const { tenure } = clocked()
  let losses = 0
  tenure.onLoss(() => losses++)
  tenure.assigned([0, 1])
  const readIn = tenure.epochOf(0)!
  tenure.released()
  assert.equal(losses, 1)
  assert.equal(tenure.holds(0, readIn), false)
  assert.equal(tenure.current(), false)
})
