import type { ChallengeEvent } from "../domain/challenge/events.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import type { GoodPracticeNotification } from "../domain/good-practice.js";
import type { RetentionSettings } from "../domain/retention.js";

/** A challenge as stored: its latest snapshot and (when asked for) its events in order. */
export interface StoredChallenge {
  readonly tenantId: string;
  readonly state: ChallengeState;
  /** What the snapshot carries besides the state, when the store read it (DynamoChallengeStore does). */
  readonly head?: ChallengeHead;
}

/**
 * What the snapshot carries so that a command or a workflow task needs no other read of the
 * challenge: handed back to {@link ChallengeStore.append}, the chain continues from it without
 * reading the snapshot again (the transaction re-checks version and hash).
 */
export interface ChallengeHead {
  readonly version: number;
  /** Hash of the latest event: the next event's prevHash. */
  readonly lastEventHash: string;
  /**
   * Seq of the event that started the challenge's current run of the workflow (`ChallengeRaised`,
   * or the latest `Reopened` from resolved). Undefined on snapshots written before it was kept.
   */
  readonly runStartSeq?: number | undefined;
}

/** The one strongly consistent read a command or workflow task starts from ({@link ChallengeStore.read}). */
export interface ChallengeRead {
  readonly challenge: StoredChallenge | undefined;
  /** The token the workflow waits on (undefined: none stored), when asked for. */
  readonly waiting?: { readonly taskToken: StoredTaskToken | undefined };
  /**
   * The tenant's configuration and directory version, read in the same call: a cached copy of
   * the configuration and directory is used only at exactly this version (store/tenant-store.ts).
   */
  readonly tenantVersion: number;
}

/** What a caller of {@link ChallengeStore.append} knows from its read. */
export interface AppendOptions {
  /** The head read with the challenge at the expected version: append then reads nothing first. */
  readonly head?: ChallengeHead;
  /**
   * Commit only while the workflow's stored task token is still the one read (undefined: none was
   * stored). The caller signals that token after the commit, so a wait that began in between
   * (whose AwaitResponse re-read saw the old version) cannot miss the signal: the commit fails
   * as a {@link ConcurrencyConflictError} and the command is decided again on a fresh read.
   */
  readonly waitingOn?: { readonly taskToken: StoredTaskToken | undefined };
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
  /**
   * The snapshot (with its head), the workflow's task token when `taskToken` is asked for, and
   * the tenant's configuration version, strongly consistent, in one call. Optional: without it the
   * application reads with `get` and the configuration afresh.
   */
  read?(
    tenantId: string,
    challengeId: string,
    options?: { readonly taskToken?: boolean },
  ): Promise<ChallengeRead>;
  events(tenantId: string, challengeId: string): Promise<readonly StoredEvent[]>;
  /**
   * Writes the events and the new snapshot in one transaction, conditioned on the stored snapshot
   * still being at `expectedVersion` (0: must not exist yet). All or nothing. `retention` is the
   * tenant's retention setting, from which the snapshot's retention date is computed (unset: the
   * longest rule, functions/domain/retention.ts). `options` carries what the caller read (see
   * {@link AppendOptions}).
   */
  append(
    tenantId: string,
    expectedVersion: number,
    events: readonly ChallengeEvent[],
    newState: ChallengeState,
    retention?: RetentionSettings,
    options?: AppendOptions,
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
