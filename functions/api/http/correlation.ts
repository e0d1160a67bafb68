import type { APIGatewayProxyEventV2 } from "aws-lambda";

/**
 * The request's correlation id: the `x-correlation-id` request header when it is a sane token,
 * else API Gateway's request id; logged on every line and echoed in the response. Free of imports,
 * so the OpenAPI document's lean handler (functions/api/openapi.ts) shares it with the factory.
 */
export const CORRELATION_HEADER = "x-correlation-id";

const CORRELATION_ID = /^[A-Za-z0-9._:=-]{1,128}$/;

export function correlationIdOf(event: Pick<APIGatewayProxyEventV2, "headers" | "requestContext">): string {
  const header = event.headers[CORRELATION_HEADER];
  if (header !== undefined && CORRELATION_ID.test(header)) return header;
  return event.requestContext.requestId;
}
