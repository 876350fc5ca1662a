import type { Stage } from '../lifecycle.ts'
import type { AppendCandidate } from './append-candidate.ts'

/** Candidates bound for one dataset. */
export interface DatasetAppendBatch {
  datasetId: string
  candidates: readonly AppendCandidate[]
}

/**
 * Appends one dataset's candidates; resolving means they are in (or knowingly dropped).
 * `signal` aborts when this appender stops owning the dataset: no further write starts.
 */
export type DatasetAppendHandler = (
  datasetId: string,
  candidates: readonly AppendCandidate[],
  signal?: AbortSignal,
) => Promise<void>

/**
 * The path from rule workers to the one appender of each dataset. Rule workers scale
 * with the spans topic's partitions, so matches for one dataset come from every worker;
 * a dataset's cap holds exactly only if one writer appends to it at a time. Adapters:
 * in-process (the embedded default: straight to this process's dataset writer) and Kafka
 * (topic `spansift.dataset-appends`, keyed by dataset id, so each dataset's rows are
 * appended by the one consumer that owns its partition).
 */
export interface DatasetAppendQueue extends Stage {
  /** Hands batches to their datasets' appenders; resolves once durable (appended, or acknowledged by Kafka). */
  enqueue(batches: readonly DatasetAppendBatch[]): Promise<void>
  /** Registers the appender side; call before `start()`. Processes without it only enqueue. */
  consume(handler: DatasetAppendHandler): void
}
