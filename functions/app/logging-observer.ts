import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logger, metrics } from "../shared/observability.js";
import type { Observer } from "./execute-command.js";

/** The application service's observer over the shared (redacting) logger and metrics: ids only, no personal data. */
export const loggingObserver: Observer = {
  warn: (message, attributes) => {
    logger.warn(message, attributes);
  },
  error: (message, attributes, error) => {
    logger.error({ message, ...attributes, error });
  },
  count: (metric) => {
    metrics.addMetric(metric, MetricUnit.Count, 1);
  },
};
