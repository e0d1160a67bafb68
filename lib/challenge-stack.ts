import {
  type App,
  ArnFormat,
  type Environment,
  Stack,
  type StackProps,
  Tags,
  Validations,
} from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { AwsSolutionsChecks, NIST80053R5Checks, type NagPack, ServerlessChecks } from "cdk-nag";
import type { Construct, Node } from "constructs";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../functions/shared/observability.js";
import { isTenantId } from "../functions/store/table.js";
import { Api } from "./api.js";
import { Audit } from "./audit.js";
import { EventReactor } from "./reactor.js";
import { FunctionFactory, type ServiceFunction } from "./functions.js";
import { Mail } from "./mail.js";
import { LOG_RETENTION, Observability } from "./observability.js";
import { Benchmark } from "./benchmark.js";
import { Retention } from "./retention.js";
import { Store } from "./store.js";
import { Workflow } from "./workflow.js";

/** What differs between deployments: read from CDK context (cdk.json holds synth defaults). */
export interface DeploymentSettings {
  /** Short slug for the local authority, e.g. `leicestershire`: names the stack and tags resources. */
  readonly authority: string;
  /** Domain notifications come from and replies go to; its MX record points at SES inbound. */
  readonly mailDomain: string;
  /** OIDC issuer URL of the identity provider that issues API tokens. */
  readonly jwtIssuer: string;
  /** Accepted token audiences (comma-separated in context). */
  readonly jwtAudience: readonly string[];
  /** Object Lock COMPLIANCE retention of audit exports, in days. Cannot be shortened once written. */
  readonly auditRetentionDays: number;
  /** Base URL of the case-record system, for links in notifications. */
  readonly caseRecordBaseUrl: string;
  /**
   * The tenant ids this deployment serves (the tenant claim of its API tokens): reply tokens verify
   * for these only. Comma-separated in context; defaults to the authority slug.
   */
  readonly tenantIds: readonly string[];
}

export const CONTEXT_KEYS = [
  "authority",
  "mailDomain",
  "jwtIssuer",
  "jwtAudience",
  "auditRetentionDays",
  "caseRecordBaseUrl",
  "tenantIds",
] as const;
type ContextKey = (typeof CONTEXT_KEYS)[number];

function optionalContextString(node: Node, key: ContextKey): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (typeof value === "number") return String(value);
  if (typeof value !== "string" || value.trim() === "") return undefined;
  return value.trim();
}

function contextString(node: Node, key: ContextKey): string {
  const value = optionalContextString(node, key);
  if (value === undefined) {
    throw new Error(`Missing CDK context "${key}": set it in cdk.json or pass -c ${key}=...`);
  }
  return value;
}

/** The `tenantIds` context key: comma-separated tenant ids, the authority slug when unset. */
function tenantIdsFromContext(node: Node, authority: string): string[] {
  const given = optionalContextString(node, "tenantIds");
  if (given === undefined) return [authority];
  const ids = [...new Set(given.split(",").map((id) => id.trim()))].filter((id) => id !== "");
  if (ids.length === 0) throw new Error(`CDK context "tenantIds" needs at least one tenant id`);
  const bad = ids.filter((id) => !isTenantId(id));
  if (bad.length > 0) {
    throw new Error(
      `CDK context "tenantIds" must be tenant ids (letters, digits, '.', '_' or '-', 1-64), got ${bad.join(", ")}`,
    );
  }
  return ids;
}

function httpsUrl(key: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`CDK context "${key}" must be an https URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "https:") throw new Error(`CDK context "${key}" must use https, got ${value}`);
  return value;
}

/** Reads and checks the deployment settings; a bad value fails synth with the key's name. */
export function settingsFromContext(node: Node): DeploymentSettings {
  const authority = contextString(node, "authority");
  if (!/^[a-z][a-z0-9-]{1,30}$/.test(authority)) {
    throw new Error(`CDK context "authority" must be a lower-case slug (a-z, 0-9, -), got ${authority}`);
  }
  const mailDomain = contextString(node, "mailDomain").toLowerCase();
  if (!/^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(mailDomain)) {
    throw new Error(`CDK context "mailDomain" must be a domain name, got ${mailDomain}`);
  }
  const audience = contextString(node, "jwtAudience")
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  if (audience.length === 0) throw new Error(`CDK context "jwtAudience" needs at least one audience`);
  const retention = Number(contextString(node, "auditRetentionDays"));
  if (!Number.isInteger(retention) || retention < 1 || retention > 36_500) {
    throw new Error(`CDK context "auditRetentionDays" must be a whole number of days from 1 to 36500`);
  }
  return {
    authority,
    mailDomain,
    jwtIssuer: httpsUrl("jwtIssuer", contextString(node, "jwtIssuer")),
    jwtAudience: audience,
    auditRetentionDays: retention,
    caseRecordBaseUrl: httpsUrl("caseRecordBaseUrl", contextString(node, "caseRecordBaseUrl")),
    tenantIds: tenantIdsFromContext(node, authority),
  };
}

/** API routes whose commands can start a run of the workflow (ChallengeRaised; Reopened from resolved). */
export const RUN_STARTING_ROUTES = ["raise-challenge", "reopen"] as const;

export interface ChallengeStackProps extends StackProps {
  readonly settings: DeploymentSettings;
}

/** The whole service for one local authority. */
export class ChallengeStack extends Stack {
  readonly observability: Observability;
  readonly store: Store;
  readonly audit: Audit;
  readonly mail: Mail;
  readonly workflow: Workflow;
  readonly events: EventReactor;
  readonly api: Api;
  readonly functions: FunctionFactory;
  readonly retention: Retention;
  readonly benchmark: Benchmark;

  constructor(scope: Construct, id: string, props: ChallengeStackProps) {
    super(scope, id, props);
    const { settings } = props;
    Tags.of(this).add("service", SERVICE_NAME);
    Tags.of(this).add("authority", settings.authority);

    // Named so every handler can be given the ARN as a string: referencing the state machine
    // itself would make the task Lambdas and the state machine depend on each other.
    const stateMachineName = `${this.stackName}-challenge`;
    const stateMachineArn = this.formatArn({
      service: "states",
      resource: "stateMachine",
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.observability = new Observability(this, "Observability");
    this.observability.watchThrottles(this.observability);
    this.store = new Store(this, "Store");
    this.functions = new FunctionFactory({
      logKey: this.observability.key,
      logRetention: LOG_RETENTION,
      serviceName: SERVICE_NAME,
      metricsNamespace: METRICS_NAMESPACE,
      environment: {
        TABLE_NAME: this.store.table.tableName,
        STATE_MACHINE_ARN: stateMachineArn,
        AUTHORITY: settings.authority,
      },
    });

    this.audit = new Audit(this, "Audit", {
      retentionDays: settings.auditRetentionDays,
      functions: this.functions,
      store: this.store,
      observability: this.observability,
    });
    this.mail = new Mail(this, "Mail", {
      mailDomain: settings.mailDomain,
      caseRecordBaseUrl: settings.caseRecordBaseUrl,
      tenantIds: settings.tenantIds,
      functions: this.functions,
      store: this.store,
      observability: this.observability,
      accessLogBucket: this.audit.accessLogBucket,
    });
    this.workflow = new Workflow(this, "Workflow", {
      stateMachineName,
      stateMachineArn,
      functions: this.functions,
      store: this.store,
      failureTopic: this.observability.topic,
      observability: this.observability,
    });
    // The table's stream is the outbox, read by exactly two consumers: the audit exporter and this.
    this.events = new EventReactor(this, "Events", {
      functions: this.functions,
      store: this.store,
      mail: this.mail,
      stateMachineArn,
      observability: this.observability,
    });
    this.retention = new Retention(this, "Retention", {
      tenantIds: settings.tenantIds,
      functions: this.functions,
      store: this.store,
      observability: this.observability,
    });
    this.benchmark = new Benchmark(this, "Benchmark", {
      tenantIds: settings.tenantIds,
      functions: this.functions,
      store: this.store,
      observability: this.observability,
    });
    this.api = new Api(this, "Api", {
      jwtIssuer: settings.jwtIssuer,
      jwtAudience: settings.jwtAudience,
      functions: this.functions,
      store: this.store,
      observability: this.observability,
    });

    // The acknowledgement link (functions/mail/ack-link.ts): notifications carry it, pointing at
    // the API; the link routes verify it with the reply-token keys, for the tenants this stack serves.
    this.events.reactor.fn.addEnvironment("ACK_LINK_BASE_URL", this.api.httpApi.apiEndpoint);
    for (const { route, handler } of this.api.routes) {
      if (route.signedLink !== true) continue;
      handler.fn.addEnvironment("REPLY_TOKEN_SECRET_ARN", this.mail.replyTokenSecret.secretArn);
      handler.fn.addEnvironment("MAIL_TENANT_IDS", settings.tenantIds.join(","));
      this.mail.replyTokenSecret.grantRead(handler.fn);
    }

    // A person's action ends the workflow's wait (a stage's, or a monitored plan's): every handler
    // that records one (the API routes that decide commands, `signalsWorkflow` in
    // functions/api/routes.ts, and inbound email) may complete the stored task token, with
    // SendTaskSuccess only (functions/workflow/sfn-signal.ts: the workflow re-reads the challenge;
    // nothing fails or heartbeats a wait). AwaitResponse completes its own token (lib/workflow.ts).
    // Nothing else may. Inbound email cannot start a run: a reply responds, acknowledges, resolves
    // or escalates; only Reopen (API) and raising start one.
    const completesTasks: ServiceFunction[] = [
      this.mail.replyApplier,
      ...this.api.routes.filter((r) => r.route.signalsWorkflow === true).map((r) => r.handler),
    ];
    for (const fn of completesTasks) {
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ["states:SendTaskSuccess"], resources: [stateMachineArn] }),
      );
    }
    // Raising a challenge, and reopening a resolved one, start a run of its workflow at once; the
    // event reactor is the safety net (both name the execution from the challenge and the seq of
    // the event that started the run, so neither can fork it).
    for (const routeId of RUN_STARTING_ROUTES) {
      const route = this.api.routes.find((r) => r.route.id === routeId);
      if (route === undefined) throw new Error(`functions/api/routes.ts has no ${routeId} route`);
      route.handler.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ["states:StartExecution"], resources: [stateMachineArn] }),
      );
    }
    for (const fn of this.functions.all) this.observability.watchFunction(fn);

    Validations.of(this).acknowledge({
      id: "NIST.800.53.R5-IAMNoInlinePolicy",
      reason:
        "Stack-wide by construction: CDK expresses every grant as an AWS::IAM::Policy attached to exactly one role of this stack, generated per function with least privilege; customer-managed policies would add shared, reusable documents this service does not want.",
    });
  }
}

/** The three cdk-nag packs the stack must pass (cdk-nag 3.x: policy validation plugins). */
export function compliancePacks(app: App): NagPack[] {
  return [
    new AwsSolutionsChecks(app, { verbose: true }),
    new ServerlessChecks(app, { verbose: true }),
    new NIST80053R5Checks(app, { verbose: true }),
  ];
}

/** Builds the stack from the app's context and registers the compliance packs. */
export function buildChallengeApp(app: App, env?: Environment): ChallengeStack {
  const settings = settingsFromContext(app.node);
  const stack = new ChallengeStack(app, `ChallengeResolution-${settings.authority}`, {
    settings,
    env,
    description: `Challenge & Resolution Service for ${settings.authority}: IRO and CPC challenge protocols`,
    terminationProtection: true,
  });
  Validations.of(app).addPlugins(...compliancePacks(app));
  return stack;
}
