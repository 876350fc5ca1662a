import type { DatasetCommand } from '@spansift/core/datasets/dataset-command'
import { type ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { parseJsonExact } from '@spansift/core/exact-integer'
import { StorageUnavailableError } from '@spansift/core/storage-errors'

/**
 * The wire shapes of dataset commands (on `spansift.dataset-appends`, beside rule
 * matches) and of their replies (on `spansift.dataset-replies`): JSON, with int64s
 * (span start times) as `{"$bigint":"…"}` so they survive the trip exactly, and integer
 * attribute values past 2^53 in rows as exact number literals (core/exact-integer.ts).
 */

/** A command as sent: who waits for the reply, and until when it is worth running. */
export interface WireCommand {
  kind: 'dataset-command'
  request_id: string
  /** Past this (Unix ms) the requester has given up: the owner skips the command. */
  deadline_unix_ms: number
  command: DatasetCommand
}

/** The owner's answer: the writer method's result, or the SpansiftError it raised. */
export type WireReply =
  | { request_id: string; ok: true; result: unknown }
  | {
      request_id: string
      ok: false
      error: { code: ErrorCode; message: string; details?: Record<string, unknown> }
    }

const replacer = (_key: string, value: unknown) =>
  typeof value === 'bigint' ? { $bigint: value.toString() } : value

const reviver = (_key: string, value: unknown) =>
  value !== null &&
  typeof value === 'object' &&
  typeof (value as { $bigint?: unknown }).$bigint === 'string' &&
  Object.keys(value).length === 1
    ? BigInt((value as { $bigint: string }).$bigint)
    : value

/** JSON with tagged bigints. */
export function encodeWire(value: WireCommand | WireReply): Buffer {
  return Buffer.from(JSON.stringify(value, replacer))
}

/** The inverse of encodeWire (any JSON value; callers check the shape they expect). */
export function decodeWire(bytes: Buffer): unknown {
  return parseJsonExact(bytes.toString('utf8'), reviver)
}

/** True for a command message (anything else on the appends topic is a rule match). */
export function isWireCommand(value: unknown): value is WireCommand {
  return (
    value !== null && typeof value === 'object' && (value as { kind?: unknown }).kind === 'dataset-command'
  )
}

/**
 * The reply for a failed command. A SpansiftError travels as is, so the requester's API
 * answers the status it would have answered locally; storage out of reach is `unavailable`
 * (retryable); anything else is `internal` (the owner logs it).
 */
export function errorReply(requestId: string, error: unknown): WireReply {
  const known =
    error instanceof SpansiftError
      ? error
      : error instanceof StorageUnavailableError
        ? new SpansiftError('unavailable', 'storage is unreachable right now; retry later')
        : new SpansiftError('internal', 'internal error')
  return {
    request_id: requestId,
    ok: false,
    error: { code: known.code, message: known.message, ...(known.details ? { details: known.details } : {}) },
  }
}

/** The requester's side of a reply: the result, or the owner's error rethrown as a SpansiftError. */
export function replyOutcome(reply: WireReply): unknown {
  if (reply.ok) return reply.result
  throw new SpansiftError(reply.error.code, reply.error.message, reply.error.details)
}
