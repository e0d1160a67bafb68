/**
 * Issue 9 §6 on the local runtime `npm start` runs: `POST /_local/clock/advance` sent with no pause
 * after raising must never lose the escalation. Whenever the move lands (before the workflow has
 * read the stage, while it reads it, or once it waits), the stage's deadline is an absolute instant:
 * five working days later the challenge has escalated, with no further move of the clock.
 */
import { ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CHILDREN, raiseChallengeBody } from "../../local/demo.js";
import type { LocalRuntime } from "../../local/runtime.js";
import { type E2eRuntime, advanceClock, api, eventually, startE2eRuntime } from "../support/e2e-harness.js";

interface ChallengeView {
  readonly challenge: {
    readonly challengeId: string;
    readonly currentStage: { readonly stageId: string; readonly deadline: string } | null;
  };
  readonly timeline: readonly { readonly type: string; readonly at: string }[];
}

const ROUNDS = 20;

describe("moving the clock right after raising (issue 9 §6)", () => {
  let e2e: E2eRuntime;
  const rt = (): LocalRuntime => e2e.current();
  const iro = (): string => rt().tokens.IRO ?? "";

  beforeAll(async () => {
    e2e = await startE2eRuntime();
  }, 90_000);

  afterAll(async () => {
    await e2e.dispose();
  }, 30_000);

  const executionStarted = async (client: SFNClient, challengeId: string): Promise<true | undefined> => {
    const { executions = [] } = await client.send(
      new ListExecutionsCommand({ stateMachineArn: rt().settings.stateMachineArn }),
    );
    return executions.some((e) => e.name?.includes(challengeId)) ? true : undefined;
  };

  it(`escalates at the deadline ${ROUNDS} times in a row, the clock moved with no pause after each raise`, async () => {
    const client = new SFNClient({
      endpoint: rt().urls.stepfunctions,
      region: rt().settings.region,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const child = DEMO_CHILDREN[round % DEMO_CHILDREN.length] ?? DEMO_CHILDREN[0];
        const raised = await api<ChallengeView>(
          rt(),
          "POST",
          "/v1/challenges",
          iro(),
          raiseChallengeBody(child),
        );
        expect(raised.status, `round ${round}`).toBe(201);
        const { challengeId, currentStage } = raised.body.challenge;
        expect(currentStage?.stageId).toBe("level_1");
        if (round % 2 === 1) {
          // Odd rounds: move the clock the moment the workflow exists, while it reads the stage.
          await eventually("the workflow", () => executionStarted(client, challengeId), 15_000, 1);
        }
        // Five working days: one second past the stage's deadline.
        const moved = await advanceClock(rt(), { workingDays: 5 });
        expect(Date.parse(moved.now)).toBeGreaterThan(Date.parse(currentStage?.deadline ?? ""));

        // No further move: the escalation must come from this one.
        const view = await eventually(
          `round ${round}: the escalation of ${challengeId}`,
          async () => {
            const response = await api<ChallengeView>(rt(), "GET", `/v1/challenges/${challengeId}`, iro());
            return response.body.challenge.currentStage?.stageId === "level_2" ? response.body : undefined;
          },
          20_000,
        );
        const escalated = view.timeline.find((e) => e.type === "Escalated");
        expect(Date.parse(escalated?.at ?? "")).toBeGreaterThanOrEqual(
          Date.parse(currentStage?.deadline ?? ""),
        );
      }
    } finally {
      client.destroy();
    }
  }, 600_000);
});
