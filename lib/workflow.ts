import path from "node:path";
import { Duration, Validations } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { type CfnFunction, FilterCriteria, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { ENTITY, TABLE } from "../functions/store/table.js";
import { acknowledgeOnFailureQueue } from "./audit.js";
import {
  type FunctionFactory,
  PROJECT_ROOT,
  type ServiceFunction,
  acknowledgeKmsGrant,
  nagRef,
} from "./functions.js";
import type { Observability } from "./observability.js";
import type { Store } from "./store.js";

/** New ChallengeRaised event items only (the handler checks again). */
const START_FILTER = {
  eventName: ["INSERT"],
  dynamodb: {
    NewImage: {
      [TABLE.entityAttribute]: { S: [ENTITY.event] },
      // Event items copy the event's type to `type` for stream filters (functions/store/items.ts).
      type: { S: ["ChallengeRaised"] },
    },
  },
};

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
 * One Step Functions execution per challenge: the state machine from statemachines/challenge.asl.json,
 * its four task Lambdas, and the stream consumer that starts an execution when a challenge is raised.
 */
export class Workflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly openStage: ServiceFunction;
  readonly awaitResponse: ServiceFunction;
  readonly stageTimedOut: ServiceFunction;
  readonly checkActions: ServiceFunction;
  readonly starter: ServiceFunction;
  readonly starterDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const { functions, store } = props;

    // The tasks read and write the challenge only: notifications are derived from committed
    // events, not queued by the workflow (functions/app/workflow-tasks.ts).
    const task = (name: string, file: string, description: string): ServiceFunction => {
      const made = functions.create(this, name, {
        entry: `functions/workflow/${file}.ts`,
        description,
        invokedBy: "workflow",
        timeout: Duration.seconds(30),
      });
      store.grantReadWrite(made);
      return made;
    };
    this.openStage = task(
      "OpenStage",
      "open-stage",
      "Opens the challenge's current stage and works out its deadline",
    );
    this.awaitResponse = task(
      "AwaitResponse",
      "await-response",
      "Stores the stage's task token (completes it at once if the stage moved on meanwhile)",
    );
    this.stageTimedOut = task(
      "StageTimedOut",
      "stage-timed-out",
      "Applies the protocol's no-response rule when a stage deadline passes",
    );
    this.checkActions = task(
      "CheckActions",
      "check-actions",
      "Asks whether the action plan's actions due were done",
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

    // --- starting executions --------------------------------------------------------------------
    this.starterDeadLetterQueue = new Queue(this, "StartExecutionDeadLetterQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.observability.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeOnFailureQueue(this.starterDeadLetterQueue, "execution starter");
    this.starter = functions.create(this, "StartExecution", {
      entry: "functions/workflow/start-execution.ts",
      description: "Starts one workflow execution per raised challenge, named from the challenge id",
      invokedBy: "stream",
      timeout: Duration.seconds(30),
    });
    this.starter.fn.addEventSource(
      new DynamoEventSource(store.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 25,
        maxBatchingWindow: Duration.seconds(1),
        parallelizationFactor: 1,
        bisectBatchOnError: true,
        retryAttempts: 10,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.starterDeadLetterQueue),
        filters: [FilterCriteria.filter(START_FILTER)],
      }),
    );
    store.grantStreamRead(this.starter);
    acknowledgeKmsGrant(this.starter);
    this.starter.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["states:StartExecution"], resources: [props.stateMachineArn] }),
    );

    props.observability.watchStateMachine(this.stateMachine);
    props.observability.watchDeadLetterQueue(this.starterDeadLetterQueue, "Workflow starter");
  }
}
