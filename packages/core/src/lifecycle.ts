/**
 * Every running component is a stage with an ordered lifecycle: sinks start before
 * sources, and on shutdown sources stop first so the rest can drain.
 */
export interface Stage {
  start(): Promise<void>
  shutdown(): Promise<void>
}
