import path from "node:path";
import { Duration, Validations } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { type FunctionFactory, PROJECT_ROOT, type ServiceFunction, nagRef } from "./functions.js";
import type { Observability } from "./observability.js";
import type { Store } from "./store.js";

/** The one Amazon States Language file, shared with the local runtime. */
export const ASL_PATH = path.join(PROJECT_ROOT, "statemachines", "challenge.asl.json");

export interface WorkflowProps {
  /** Fixed name, so handlers get the ARN without a dependency cycle (see ChallengeStack). */
  readonly stateMachineName: string;
  readonly stateMachineArn: string;
  readonly functions: FunctionFactory;
  readonly store: Store;
  /** Workflow failures are reported here (RecordWorkflowFailure). */
  readonly failureTopic: ITopic;
  readonly observability: Observability;
}

/**
 * One Step Functions execution per run of a challenge's workflow: the state machine from
 * statemachines/challenge.asl.json and its four task Lambdas. Runs are started by the API and by
 * the event reactor (lib/reactor.ts), never by a stream consumer of this construct.
 */
export class Workflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly openStage: ServiceFunction;
  readonly awaitResponse: ServiceFunction;
  readonly stageTimedOut: ServiceFunction;
  readonly checkActions: ServiceFunction;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const { functions, store } = props;

    // The tasks touch the challenge's items only (no queue, no mail): notifications are derived
    // from committed events by the event reactor (functions/workflow/tasks.ts). Tasks that
    // only read get read access.
    const task = (
      name: string,
      file: string,
      description: string,
      access: "read" | "readWrite",
    ): ServiceFunction => {
      const made = functions.create(this, name, {
        entry: `functions/workflow/${file}.ts`,
        description,
        invokedBy: "workflow",
        timeout: Duration.seconds(30),
      });
      if (access === "read") store.grantRead(made);
      else store.grantReadWrite(made);
      return made;
    };
    this.openStage = task(
      "OpenStage",
      "open-stage",
      "Reads the challenge's current stage or action plan and works out how long to wait",
      "read",
    );
    this.awaitResponse = task(
      "AwaitResponse",
      "await-response",
      "Stores the task token of a stage's or an action plan's wait, first applying the timer's action when the wait before it timed out (completes it at once if the challenge is not where the view said)",
      "readWrite",
    );
    this.stageTimedOut = task(
      "StageTimedOut",
      "stage-timed-out",
      "Sends the reminder before a stage deadline, or applies the protocol's no-response rule once it passes, then reads the next wait",
      "readWrite",
    );
    this.checkActions = task(
      "CheckActions",
      "check-actions",
      "Records the action plan's actions that fell due (the raiser is asked about them) and when to look next",
      "readWrite",
    );

    const logGroup = props.observability.logGroup(
      this,
      "StateMachineLogs",
      `/aws/vendedlogs/states/${props.stateMachineName}`,
    );
    this.stateMachine = new StateMachine(this, "StateMachine", {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      comment: "One execution per challenge: stages, deadlines, escalation, action-plan monitoring",
      definitionBody: DefinitionBody.fromFile(ASL_PATH),
      definitionSubstitutions: {
        OpenStageFunctionArn: this.openStage.fn.functionArn,
        AwaitResponseFunctionArn: this.awaitResponse.fn.functionArn,
        StageTimedOutFunctionArn: this.stageTimedOut.fn.functionArn,
        CheckActionsFunctionArn: this.checkActions.fn.functionArn,
        WorkflowFailureTopicArn: props.failureTopic.topicArn,
      },
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    for (const fn of [this.openStage, this.awaitResponse, this.stageTimedOut, this.checkActions]) {
      fn.fn.grantInvoke(this.stateMachine);
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagRef(fn.fn.node.defaultChild as CfnFunction, "Arn")}:*]`,
        reason: `CDK's invoke grant covers the versions and aliases (:*) of ${fn.node.id}, one function of this workflow.`,
      });
    }
    props.failureTopic.grantPublish(this.stateMachine);
    Validations.of(this.stateMachine).acknowledge({
      id: "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
      reason:
        "CDK's publish grant on the encrypted failure topic: the statement names only the operations key's ARN; the wildcard covers the variants of GenerateDataKey.",
    });
    Validations.of(this.stateMachine).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Step Functions log delivery (logs:CreateLogDelivery, ...) and X-Ray (xray:PutTraceSegments, ...) support no resource-level permissions.",
    });

    // AwaitResponse completes its own wait when the challenge changed while it stored the token
    // (a person's action signalled before the token was there): SendTaskSuccess only.
    this.awaitResponse.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["states:SendTaskSuccess"], resources: [props.stateMachineArn] }),
    );

    props.observability.watchStateMachine(this.stateMachine);
  }
}
