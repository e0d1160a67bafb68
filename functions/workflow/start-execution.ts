import { startExecutions } from "./tasks.js";
import type { ReactionStep } from "../shared/stream-batch.js";
import type { EventItem } from "../store/event-item.js";
import { type WorkflowDependencies, workflowDependencies } from "./dependencies.js";

/**
 * The workflow step of the event reactor (functions/reactor/reactor.ts), given one decoded event item
 * at a time. Starts one run of the challenge's workflow on a `ChallengeRaised` event, and one on a
 * `Reopened` event whose challenge had been resolved (`data.fromStatus`), named from the tenant,
 * the challenge id and the seq of that event, so a redelivered record, a retry or the API's own
 * start cannot fork a run (ExecutionAlreadyExists is success). Input `{ tenantId, challengeId }`.
 * A start that fails throws, and the reactor reports the record.
 */

/** The starter's failure on one record; the cause was logged by the starter's observer. */
export class WorkflowStartError extends Error {
  override readonly name = "WorkflowStartError";
}

/** The workflow step over the given dependencies (read per batch: the production ones are built once per container). */
export function createStep(
  deps: () => Pick<WorkflowDependencies, "starter" | "observer">,
): ReactionStep<EventItem> {
  return {
    name: "workflow",
    begin: () => {
      const { starter, observer } = deps();
      return async ({ tenantId, challengeId, entity, event }) => {
        // The run-start rule (which events start a run, at which seq) is the app layer's, over the
        // fields it names; the event here has been checked against the domain's schema already.
        const { batchItemFailures } = await startExecutions(
          [
            {
              itemIdentifier: `${tenantId}/${challengeId}/${event.seq}`,
              eventName: "INSERT",
              item: {
                entity,
                type: event.type,
                tenantId,
                challengeId,
                seq: event.seq,
                ...(event.type === "Reopened" ? { fromStatus: event.data.fromStatus } : {}),
              },
            },
          ],
          starter,
          observer,
        );
        if (batchItemFailures.length > 0) {
          throw new WorkflowStartError(`the workflow run of event ${event.seq} was not started`);
        }
      };
    },
  };
}

/** The step the event reactor runs. */
export const workflowStep = createStep(workflowDependencies);
