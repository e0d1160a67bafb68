import type { TestProject } from "vitest/node";
import { startDynamoDbLocal } from "./dynamodb-local.js";

/**
 * Starts DynamoDB Local once for the whole test run and stops it afterwards (vitest calls the
 * returned function at teardown). Tests read the endpoint with `inject("dynamoDbEndpoint")` (see
 * dynamodb-local.ts). Set DYNAMODB_LOCAL_ENDPOINT to use one that is already running instead.
 *
 * Without Java the run still goes ahead with a warning, so the unit tests work on any machine;
 * the integration tests then fail with the reason.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const existing = process.env.DYNAMODB_LOCAL_ENDPOINT;
  if (existing !== undefined && existing !== "") {
    project.provide("dynamoDbEndpoint", existing);
    return undefined;
  }
  try {
    const local = await startDynamoDbLocal();
    console.info(`DynamoDB Local ready at ${local.endpoint} in ${local.startupMs} ms`);
    project.provide("dynamoDbEndpoint", local.endpoint);
    return () => local.stop();
  } catch (error) {
    console.warn(`DynamoDB Local unavailable; integration tests will fail: ${String(error)}`);
    project.provide("dynamoDbEndpoint", "");
    return undefined;
  }
}
