import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatSummary, summariseAssembly } from "../../../bin/synth-summary.js";

/**
 * The summary `npm run synth` prints, on a small hand-made cloud assembly with what the real one
 * cannot show while the stack is clean: an unacknowledged finding and an acknowledgement without a
 * reason. (test/infra/challenge-stack.test.ts runs it on the real stack's assembly.)
 */
describe("the synth summary", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "synth-summary-"));
    const write = (name: string, value: unknown) => writeFile(join(dir, name), JSON.stringify(value));
    await write("manifest.json", {
      artifacts: {
        Tiny: {
          type: "aws:cloudformation:stack",
          displayName: "Tiny",
          properties: { templateFile: "Tiny.template.json" },
          additionalMetadataFile: "Tiny.metadata.json",
        },
        Tree: { type: "cdk:tree" },
      },
    });
    await write("Tiny.template.json", {
      Resources: {
        A: { Type: "AWS::Lambda::Function" },
        B: { Type: "AWS::Lambda::Function" },
        C: { Type: "AWS::IAM::Role" },
        D: { Type: "AWS::DynamoDB::Table" },
      },
    });
    await write("Tiny.metadata.json", {
      "/Tiny/A": [
        {
          type: "aws:cdk:acknowledged-rules",
          data: { "AwsSolutions-L1": "Pinned to nodejs22.x on purpose" },
        },
      ],
      "/Tiny/B": [{ type: "aws:cdk:acknowledged-rules", data: { "AwsSolutions-L1": "  " } }],
      "/Tiny/C": [{ type: "aws:cdk:info", data: "not an acknowledgement" }],
    });
    await write("validation-report.json", {
      pluginReports: [
        { pluginName: "AwsSolutions", violations: [{ ruleName: "AwsSolutions-IAM5", severity: "error" }] },
        { pluginName: "Serverless", violations: [{ ruleName: "Serverless-LambdaDLQ", severity: "warning" }] },
      ],
    });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("counts resources by type, acknowledgements with and without reasons, and findings left", () => {
    const summary = summariseAssembly(dir);
    expect(summary.stacks).toEqual([
      {
        name: "Tiny",
        templateFile: "Tiny.template.json",
        resourceCount: 4,
        resourcesByType: [
          ["AWS::Lambda::Function", 2],
          ["AWS::DynamoDB::Table", 1],
          ["AWS::IAM::Role", 1],
        ],
        acknowledgements: [
          { path: "/Tiny/A", rule: "AwsSolutions-L1", reason: "Pinned to nodejs22.x on purpose" },
          { path: "/Tiny/B", rule: "AwsSolutions-L1", reason: "" },
        ],
      },
    ]);
    expect(summary.findings).toEqual({ error: 1, warning: 1 });
    expect(formatSummary(summary, { topTypes: 2 })).toEqual([
      "Stack Tiny: 4 resources (Tiny.template.json)",
      "  2 AWS::Lambda::Function, 1 AWS::DynamoDB::Table, and 1 other type",
      "  cdk-nag: 2 acknowledgements (1 rule), 1 WITHOUT a reason",
      "cdk-nag (AwsSolutions, Serverless, NIST 800-53 rev 5): 1 error, 1 warning left unacknowledged",
    ]);
  });
});
