import * as z from "zod/mini";
import { ulid } from "ulid";
import { executeCommand } from "../app/execute-command.js";
import { commandSchema } from "../domain/challenge/commands.js";
import { commandDependencies } from "./http/command-dependencies.js";
import { COMMAND_ENVELOPE, commandResultBody } from "./http/command-route.js";
import { createHandler, defineRoute, etagOf } from "./http/middleware.js";
import { commandResultSchema } from "./http/views.js";
import { raiseChallengeRoute } from "./routes.js";

const raiseCommand = commandSchema("Raise");

/**
 * POST /v1/challenges: raise a challenge, informally or (with a rationale the protocol allows) at a
 * later stage.
 *
 * The challenge id is a ULID generated here, never supplied by the client: ids stay unique across
 * tenants (the workflow execution is named after it) and cannot be guessed or squatted. A client
 * that must not raise twice on a retry sends an `Idempotency-Key`: the retry gets the first
 * response, with the same id, and nothing is raised again.
 */
export const spec = defineRoute({
  route: raiseChallengeRoute,
  dependencies: commandDependencies,
  body: z.omit(raiseCommand, COMMAND_ENVELOPE),
  response: {
    status: 201,
    description: "The challenge was raised; Location names it",
    schema: commandResultSchema,
  },
  handle: async ({ body, principal }, deps) => {
    const challengeId = ulid();
    const command = raiseCommand.parse({
      ...body,
      type: "Raise",
      challengeId,
      actor: principal.actor,
      channel: "api",
    });
    const result = await executeCommand(deps, principal.tenantId, command);
    return {
      status: 201,
      headers: {
        location: `/v1/challenges/${encodeURIComponent(challengeId)}`,
        etag: etagOf(result.state.version),
      },
      body: commandResultBody(deps, result),
    };
  },
});

export const handler = createHandler(spec);
