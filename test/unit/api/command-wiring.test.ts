import { describe, expect, it } from "vitest";
import { loadRouteSpecs } from "../../../bin/openapi.js";
import { commandDependencies } from "../../../functions/api/http/command-dependencies.js";
import { productionDependencies } from "../../../functions/api/http/dependencies.js";
import { routes } from "../../../functions/api/routes.js";

// Only the routes that decide commands load the Step Functions client (command-dependencies.ts), and
// the stack lets exactly the routes marked `signalsWorkflow` signal the workflow
// (lib/challenge-stack.ts). The two must agree, or a command would fail for want of its signal.
describe("which API routes are wired to signal the workflow", () => {
  it("every route marked signalsWorkflow takes the command wiring, and no other route does", async () => {
    const specs = await loadRouteSpecs();
    const wired = (routeId: string): boolean => {
      const spec = specs.find((s) => s.routeId === routeId) as { dependencies?: unknown } | undefined;
      return spec?.dependencies === commandDependencies;
    };
    // The acknowledgement link is served by its own flow (ack-link-flow.ts), which uses the command wiring.
    const decidesCommands = routes.filter((r) => r.signalsWorkflow === true && r.signedLink !== true);
    expect(decidesCommands.length).toBeGreaterThanOrEqual(19);
    expect(decidesCommands.filter((r) => !wired(r.id)).map((r) => r.id)).toEqual([]);
    expect(routes.filter((r) => r.signalsWorkflow !== true && wired(r.id)).map((r) => r.id)).toEqual([]);
  });

  it("the shared wiring refuses to signal the workflow, naming the command wiring", async () => {
    const env = {
      TABLE_NAME: "table",
      STATE_MACHINE_ARN: "arn:aws:states:eu-west-2:000000000000:stateMachine:challenge",
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const shared = productionDependencies();
      await expect(shared.workflow.start("tenant", "challenge")).rejects.toThrow(/commandDependencies/);
      await expect(shared.workflow.notify("tenant", "challenge", { kind: "acted" } as never)).rejects.toThrow(
        /commandDependencies/,
      );
      expect(commandDependencies().workflow).not.toBe(shared.workflow);
    } finally {
      process.env = saved;
    }
  });
});
