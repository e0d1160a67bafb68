/**
 * Errors of the local Step Functions engine.
 *
 * {@link SfnApiError}s are what the real service returns: the server sends them as
 * `{"__type":"com.amazonaws.sfn#<code>","message":...}` with status 400, and `@aws-sdk/client-sfn`
 * raises its exception class of the same name (`TaskDoesNotExist`, `ExecutionAlreadyExists`, ...).
 *
 * The other classes are thrown INTO the interpreter from task overrides. It reads
 * `isRetryable` / `isCatchable` from thrown errors (`?? true`), and matches Retry and Catch by
 * `error.name`.
 */

export type SfnErrorCode =
  | "ExecutionAlreadyExists"
  | "ExecutionDoesNotExist"
  | "InvalidArn"
  | "InvalidDefinition"
  | "InvalidExecutionInput"
  | "InvalidName"
  | "InvalidOutput"
  | "InvalidToken"
  | "StateMachineAlreadyExists"
  | "StateMachineDoesNotExist"
  | "TaskDoesNotExist"
  | "TaskTimedOut"
  | "UnknownOperationException"
  | "ValidationException";

export class SfnApiError extends Error {
  override readonly name = "SfnApiError";
  constructor(
    readonly code: SfnErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A Lambda function (an in-process handler) failed. Step Functions names the error after the
 * function's `errorType` and puts the Lambda error document in the cause, as here.
 */
export class LambdaFunctionError extends Error {
  constructor(errorType: string, errorMessage: string) {
    super(JSON.stringify({ errorType, errorMessage, trace: [] }));
    this.name = errorType;
  }
}

/** SendTaskFailure: fails the state with the error name and cause the caller gave. */
export class TaskFailureError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** `States.Runtime`: a bad path or value in the definition. Neither retried nor caught, as on AWS. */
export class StatesRuntimeError extends Error {
  override readonly name = "States.Runtime";
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/**
 * The execution is being stopped (StopExecution, the execution's own timeout, or the engine
 * shutting down): ends whatever the interpreter is awaiting, with no Retry and no Catch.
 */
export class ExecutionStoppedError extends Error {
  static readonly errorName = "ExecutionStopped";
  override readonly name = ExecutionStoppedError.errorName;
  readonly isRetryable = false;
  readonly isCatchable = false;
}
