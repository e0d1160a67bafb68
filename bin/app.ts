#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs it with tsx).
 *
 * Deployment settings come from CDK context: cdk.json holds defaults that synthesize offline
 * (reserved `.example` names); pass the authority's real values with `-c key=value` to deploy.
 * Keys: authority, mailDomain, jwtIssuer, jwtAudience, auditRetentionDays, caseRecordBaseUrl.
 * The AwsSolutions, Serverless and NIST 800-53 rev 5 cdk-nag packs run on every synth.
 */
import { App } from "aws-cdk-lib";
import { buildChallengeApp } from "../lib/challenge-stack.js";

const app = new App();
buildChallengeApp(app, {
  // Set by the CDK CLI from the active profile; absent offline, which synthesizes an environment-agnostic template.
  account: process.env.CDK_DEFAULT_ACCOUNT,
  region: process.env.CDK_DEFAULT_REGION,
});
app.synth();
