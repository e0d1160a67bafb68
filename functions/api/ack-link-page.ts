import { ackLinkHandler, ackLinkPathSchema } from "./http/ack-link-flow.js";
import type { AnyRouteSpec } from "./http/middleware.js";

/**
 * GET /v1/ack/{token}: the acknowledgement link's confirmation page. Records nothing: mail scanners
 * open links, and only the recipient pressing the page's button (POST) acknowledges.
 */
export const spec: AnyRouteSpec = {
  routeId: "ack-link-page",
  path: ackLinkPathSchema,
  response: {
    status: 200,
    description:
      "text/html: what the link acknowledges (reference, stage, deadline) and an Acknowledge button; " +
      "404 or 410 pages when the link is not valid, has expired, or the stage has moved on",
    text: {
      "text/html": {
        description: "The confirmation page, with its Acknowledge button",
        example: '<!doctype html><html lang="en-GB">...</html>',
      },
    },
  },
};

export const handler = ackLinkHandler(false);
