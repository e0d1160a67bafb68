import { ackLinkHandler, ackLinkPathSchema } from "./http/ack-link-flow.js";
import type { AnyRouteSpec } from "./http/middleware.js";

/**
 * POST /v1/ack/{token}: the confirmation page's button. Records StageAcknowledged as the recipient
 * the link was sent to, channel `link`; a second press records nothing new.
 */
export const spec: AnyRouteSpec = {
  routeId: "ack-link",
  path: ackLinkPathSchema,
  response: {
    status: 200,
    description: "text/html: the acknowledgement is recorded (or already was); 404 or 410 pages as for GET",
    text: {
      "text/html": {
        description: "The page saying the acknowledgement is recorded",
        example: '<!doctype html><html lang="en-GB">...</html>',
      },
    },
  },
};

export const handler = ackLinkHandler(true);
