/** Why a command was refused. Codes are stable (the API maps them to problem types); messages say why in plain words. */
export type DomainErrorCode =
  | "INVALID_COMMAND"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "WRONG_STATUS"
  | "NOT_PERMITTED"
  | "NOT_RECIPIENT"
  /** An approval from someone who is not the directory's holder (or named cover) of the approving role, or who is the challenge's subject. */
  | "NOT_APPROVER"
  | "UNKNOWN_STAGE"
  | "UNKNOWN_TRACK"
  | "UNKNOWN_THEME"
  | "UNKNOWN_ACTION"
  | "BYPASS_NOT_ALLOWED"
  | "NOT_A_BYPASS"
  | "REFERRAL_NOT_AVAILABLE"
  | "REFERRAL_NEEDS_APPROVAL"
  | "ATTESTATION_MISSING"
  | "DEADLINE_NOT_PASSED"
  | "NO_RECIPIENT"
  /** The command named a stage that is no longer the open one (someone else moved the challenge). */
  | "STAGE_MOVED"
  /** The command named a version (If-Match) the challenge has moved past. */
  | "VERSION_MISMATCH";

export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
  }
}
