import { config } from "../../shared/config.js";
import { logger } from "../../shared/observability.js";
import { sfn } from "../../shared/sfn-client.js";
import { SfnWorkflowSignal } from "../../workflow/sfn-signal.js";
import { type ApiDependencies, productionDependenciesWith } from "./dependencies.js";

/**
 * The production wiring of the routes that decide commands (the command routes, raising, the
 * acknowledgement link): the shared wiring plus the Step Functions signal that starts a challenge's
 * workflow run and ends its waits. Only these routes bundle and load the Step Functions client.
 */
export const commandDependencies: () => ApiDependencies = productionDependenciesWith(
  (_tableName, shared) => ({
    workflow: new SfnWorkflowSignal({
      sfn,
      stateMachineArn: config().STATE_MACHINE_ARN,
      tokens: shared.challenges,
      onSkipped: (reason, ids) => {
        logger.debug("workflow not signalled", { reason, ...ids });
      },
    }),
  }),
);
