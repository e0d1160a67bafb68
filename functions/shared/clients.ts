import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/**
 * The DynamoDB clients, created once per Lambda process and reused across invocations (connection
 * reuse). Other services' clients are in modules of their own (sfn-client.ts, ...), so a function
 * loads only the SDK clients it calls: the Step Functions client alone is ~15 ms of a cold start.
 *
 * No endpoint, region or credential overrides here: on AWS the Lambda environment supplies them;
 * locally the runtime sets the SDK's own `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SFN`, ...
 * variables, which the SDK reads by itself. Handler code never branches on "local".
 */
export const dynamoDb: DynamoDBClient = new DynamoDBClient({});

/** Plain JavaScript values in and out; `undefined` attributes are dropped rather than rejected. */
export const documentClient: DynamoDBDocumentClient = DynamoDBDocumentClient.from(dynamoDb, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  unmarshallOptions: { wrapNumbers: false },
});
