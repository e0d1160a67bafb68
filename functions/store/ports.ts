import type { ChallengeEvent } from "../domain/challenge/events.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import type { GoodPracticeNotification } from "../domain/good-practice.js";
import type { RetentionSettings } from "../domain/retention.js";

/** A challenge as stored: its latest snapshot and (when asked for) its events in order. */
export interface StoredChallenge {
  readonly tenantId: string;
  readonly state: ChallengeState;
}

/** A stored event: the domain event plus its place in the challenge's hash chain (for auditors). */
export interface StoredEvent {
  readonly tenantId: string;
  readonly event: ChallengeEvent;
  /** SHA-256 (hex) of the previous event of the same challenge; "" for the first. */
  readonly prevHash: string;
  readonly hash: string;
}

/** Thrown when a write lost a race: somebody else changed the challenge first. Maps to HTTP 409. */
export class ConcurrencyConflictError extends Error {
  override readonly name = "ConcurrencyConflictError";
  constructor(
    readonly challengeId: string,
    readonly expectedVersion: number,
  ) {
    super(`challenge ${challengeId} changed since version ${expectedVersion}; reload and try again`);
  }
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque cursor for the next page; undefined on the last page. */
  readonly next?: string;
}

/** Work tray queries: each is a key or index query, never a scan. */
export interface TrayQuery {
  readonly limit?: number;
  readonly cursor?: string;
}

/** The Step Functions task token a challenge's workflow is waiting on (one wait at a time per challenge). */
export interface StoredTaskToken {
  /** The stage (or wait) the token was issued for. */
  readonly stageId: string;
  readonly token: string;
}

export interface ChallengeStore {
  get(tenantId: string, challengeId: string): Promise<StoredChallenge | undefined>;
  events(tenantId: string, challengeId: string): Promise<readonly StoredEvent[]>;
  /**
   * Writes the events and the new snapshot in one transaction, conditioned on the stored snapshot
   * still being at `expectedVersion` (0: must not exist yet). All or nothing. `retention` is the
   * tenant's retention setting, from which the snapshot's retention date is computed (unset: the
   * longest rule, functions/domain/retention.ts).
   */
  append(
    tenantId: string,
    expectedVersion: number,
    events: readonly ChallengeEvent[],
    newState: ChallengeState,
    retention?: RetentionSettings,
  ): Promise<void>;
  /** Open challenges whose current stage's deadline is on or before `dueBy` (ISO), earliest first. */
  openByDueDate(tenantId: string, dueBy: string, query?: TrayQuery): Promise<Page<ChallengeState>>;
  /** Open challenges whose current stage is addressed to this person, earliest deadline first. */
  byRecipient(tenantId: string, personId: string, query?: TrayQuery): Promise<Page<ChallengeState>>;
  byChild(tenantId: string, caseRecordId: string, query?: TrayQuery): Promise<Page<ChallengeState>>;
  byTeam(tenantId: string, teamId: string, query?: TrayQuery): Promise<Page<ChallengeState>>;
  /** Challenges raised in a calendar month (YYYY-MM), for reports. */
  raisedInMonth(tenantId: string, month: string, query?: TrayQuery): Promise<Page<ChallengeState>>;
  /**
   * Workflow task tokens (optional until the store implements them). The workflow's notify task
   * saves the token of its `.waitForTaskToken` wait; a person's action reads it to call
   * SendTaskSuccess. Saving replaces the previous token of the challenge. Tokens can be up to
   * 2,048 characters and never leave the table (the email's Reply-To carries our own reply id).
   */
  saveTaskToken?(tenantId: string, challengeId: string, stageId: string, token: string): Promise<void>;
  /** The token the challenge's workflow is waiting on now, if any. */
  getTaskToken?(tenantId: string, challengeId: string): Promise<StoredTaskToken | undefined>;
}

/** Good practice notifications: their own small record (functions/domain/good-practice.ts), never overwritten. */
export interface GoodPracticeStore {
  put(tenantId: string, notification: GoodPracticeNotification): Promise<void>;
  /**
   * How many notifications were recorded from `from` to `to` (ISO instants, inclusive), for the
   * themes report (optional until every store implements it; the report refuses to run without it).
   */
  countRecordedBetween?(tenantId: string, from: string, to: string): Promise<number>;
}
