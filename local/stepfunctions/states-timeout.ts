/**
 * Makes `States.Timeout` errors the interpreter treats as its own.
 *
 * AWS's `States.TaskFailed` is a wildcard for every Task error EXCEPT `States.Timeout`. The library
 * implements that exclusion with `instanceof` its own StatesTimeoutError class, which it does not
 * export. An error that merely has the name would be matched by a `States.TaskFailed` Retry or
 * Catch, so a deadline could retry the notification instead of reaching the `States.Timeout`
 * Catch that escalates. So, once, we let the library produce a genuine one: a one-state machine
 * whose Task has a 1 ms timeout and an override that never settles (costs ~2 ms of real time).
 */
import "./polyfill.js";
import { ExecutionError, StateMachine } from "aws-local-stepfunctions";

export type TimeoutErrorFactory = (message?: string) => Error;

let factory: Promise<TimeoutErrorFactory> | undefined;

export function statesTimeoutErrors(): Promise<TimeoutErrorFactory> {
  factory ??= probe();
  return factory;
}

async function probe(): Promise<TimeoutErrorFactory> {
  const machine = new StateMachine(
    {
      StartAt: "Probe",
      States: {
        Probe: {
          Type: "Task",
          Resource: "arn:aws:lambda:eu-west-2:000000000000:function:probe",
          TimeoutSeconds: 0.001,
          End: true,
        },
      },
    },
    { validationOptions: { noValidate: true } },
  );
  const run = machine.run(
    {},
    { overrides: { taskResourceLocalHandlers: { Probe: () => new Promise<never>(() => undefined) } } },
  );
  try {
    await run.result;
  } catch (error) {
    const cause = error instanceof ExecutionError ? error.cause : undefined;
    if (cause instanceof Error && cause.name === "States.Timeout") {
      const TimeoutError = cause.constructor as new () => Error;
      return (message) => {
        const timeout = new TimeoutError();
        if (message !== undefined) timeout.message = message;
        return timeout;
      };
    }
  }
  // Library changed: fall back to the name alone (a States.TaskFailed catcher would also match).
  return (message) => Object.assign(new Error(message ?? "States.Timeout"), { name: "States.Timeout" });
}
