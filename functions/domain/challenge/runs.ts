import type { ChallengeEvent } from "./events.js";

/**
 * Whether an event starts a new run of the challenge's workflow: `ChallengeRaised` (the first run),
 * or `Reopened` from `resolved` (the previous run ended with the resolution). The application
 * starts runs by this rule (app/execute-command.ts), the event reactor by the same rule on stream
 * records (workflow/tasks.ts `runStartedBy`), and the store keeps the latest such seq on the
 * snapshot, so a run can tell it was superseded without reading the events.
 */
export function startsRun(event: ChallengeEvent): boolean {
  return (
    event.type === "ChallengeRaised" || (event.type === "Reopened" && event.data.fromStatus === "resolved")
  );
}

/** The seq of the event among `events` that starts a new run of the workflow, if any. */
export function runStartSeqOf(events: readonly ChallengeEvent[]): number | undefined {
  return events.find(startsRun)?.seq;
}
