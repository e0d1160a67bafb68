import { SFNClient } from "@aws-sdk/client-sfn";

/**
 * The Step Functions client, for the functions that start or signal a challenge's workflow run (the
 * command routes, the workflow tasks, the reactor, the reply applier), created once per process.
 * Endpoint, region and credentials come from the environment, as for every client (clients.ts).
 */
export const sfn: SFNClient = new SFNClient({});
