import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  invokeIsolated,
  lambdaContext,
  prepareConcurrentInvocations,
} from "../../../local/lambda-context.js";
import { apiEvent, callers } from "../../support/api-events.js";

const previousLevel = vi.hoisted(() => {
  const previous = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "INFO";
  return previous;
});

/**
 * The local runtime runs every function in one process, many invocations at once. Each log line
 * must carry its own invocation's function name and keys: the bug this guards against was a
 * POST /v1/challenges request line stamped `function_name: open-stage`.
 */

const lines: Record<string, unknown>[] = [];
let restore: () => void = () => undefined;

beforeAll(async () => {
  // Before the handler modules (and so the logger) load, as the runtime does.
  await prepareConcurrentInvocations();
  const write = process.stdout.write.bind(process.stdout);
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        void write(line);
      }
    }
    return true;
  });
  restore = () => {
    spy.mockRestore();
  };
});

afterAll(() => {
  restore();
  Reflect.deleteProperty(process.env, "AWS_LAMBDA_MAX_CONCURRENCY");
  // The worker process runs other test files next: leave its environment as it was.
  if (previousLevel === undefined) Reflect.deleteProperty(process.env, "POWERTOOLS_LOG_LEVEL");
  else process.env.POWERTOOLS_LOG_LEVEL = previousLevel;
});

describe("local invocations", () => {
  it("log under their own function name and keys while others run at the same time", async () => {
    const { logger, withLambdaContext } = await import("../../../functions/shared/observability.js");
    const { createHandler } = await import("../../../functions/api/http/middleware.js");
    const { spec: myTraySpec } = await import("../../../functions/api/my-tray.js");
    const { makeFakes } = await import("../api/fakes.js");
    const fakes = await makeFakes();
    const api = createHandler(myTraySpec, fakes.deps);
    // A workflow step that starts while the request is in flight and logs after it.
    const step = withLambdaContext(async (_event: unknown) => {
      logger.appendKeys({ stage_id: "level_1" });
      await sleep(30);
      logger.info("stage read");
      return undefined;
    });

    const request = invokeIsolated(
      api,
      apiEvent("my-tray", { caller: callers.teamManager }),
      lambdaContext("my-tray"),
    );
    const workflow = invokeIsolated(step, {}, lambdaContext("open-stage"));
    await Promise.all([request, workflow]);

    const requestLine = lines.find((line) => line.message === "request completed");
    const stepLine = lines.find((line) => line.message === "stage read");
    expect(requestLine).toMatchObject({
      level: "INFO",
      function_name: "my-tray",
      route: "my-tray",
      status: 200,
    });
    expect(requestLine).not.toHaveProperty("stage_id");
    expect(stepLine).toMatchObject({ function_name: "open-stage", stage_id: "level_1" });
    expect(stepLine).not.toHaveProperty("route");
    expect(stepLine).not.toHaveProperty("correlation_id");
  });

  it("give a function its own log level: a quieted workflow step does not quiet the API's request line", async () => {
    const { logger, withLambdaContext } = await import("../../../functions/shared/observability.js");
    const { createHandler } = await import("../../../functions/api/http/middleware.js");
    const { spec: myTraySpec } = await import("../../../functions/api/my-tray.js");
    const { makeFakes } = await import("../api/fakes.js");
    const api = createHandler(myTraySpec, (await makeFakes()).deps);
    const step = withLambdaContext(async (_event: unknown) => {
      await sleep(10);
      logger.info("waiting for a person");
      return undefined;
    });
    lines.length = 0;
    const quiet = () => {
      logger.setLogLevel("WARN");
    };
    await Promise.all([
      invokeIsolated(step, {}, lambdaContext("await-response"), quiet),
      invokeIsolated(api, apiEvent("my-tray", { caller: callers.teamManager }), lambdaContext("my-tray")),
    ]);
    const messages = lines.map((line) => line.message);
    expect(messages).toContain("request completed");
    expect(messages).not.toContain("waiting for a person");
    const requestLine = lines.find((line) => line.message === "request completed");
    // The request line's keys: route, status, duration, correlation id; ids, never personal data.
    expect(Object.keys(requestLine ?? {})).toEqual(
      expect.arrayContaining(["route", "method", "status", "duration_ms", "correlation_id", "function_name"]),
    );
  });
});
