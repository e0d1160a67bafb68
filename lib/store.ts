import { RemovalPolicy, Validations } from "aws-cdk-lib";
import { BackupPlan, BackupResource, BackupVault } from "aws-cdk-lib/aws-backup";
import {
  AttributeType,
  BillingMode,
  type CfnTable,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { INDEXES, TABLE } from "../functions/store/table.js";
import { type ServiceFunction, acknowledgeKmsGrant, nagRef } from "./functions.js";

const BILLING_MODES: Record<typeof TABLE.billingMode, BillingMode> = {
  PAY_PER_REQUEST: BillingMode.PAY_PER_REQUEST,
};
const STREAM_VIEW_TYPES: Record<typeof TABLE.streamViewType, StreamViewType> = {
  NEW_IMAGE: StreamViewType.NEW_IMAGE,
};

const READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"];
const WRITE_ACTIONS = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:ConditionCheckItem",
];
const KMS_READ = ["kms:Decrypt", "kms:DescribeKey"];
const KMS_READ_WRITE = [...KMS_READ, "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"];

/** Item operations on the base table, for {@link Store.grantItems}. */
export type ItemAction = "GetItem" | "Query" | "PutItem" | "UpdateItem" | "DeleteItem" | "ConditionCheckItem";
const ITEM_READS: ReadonlySet<ItemAction> = new Set(["GetItem", "Query"]);

/**
 * The single DynamoDB table, built from functions/store/table.ts (keys, indexes, TTL attribute,
 * stream view) so the deployed table and the repository code cannot drift apart.
 */
export class Store extends Construct {
  readonly key: Key;
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.key = new Key(this, "TableKey", {
      description: "Challenge & Resolution Service: the challenge table and its stream",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.table = new Table(this, "Table", {
      partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BILLING_MODES[TABLE.billingMode],
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      stream: STREAM_VIEW_TYPES[TABLE.streamViewType],
      timeToLiveAttribute: TABLE.ttlAttribute,
    });
    for (const index of Object.values(INDEXES)) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        ...(index.projected.length === 0
          ? { projectionType: ProjectionType.KEYS_ONLY }
          : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projected] }),
      });
    }

    // Point-in-time recovery reaches back 35 days; children's records are kept for decades, so
    // AWS Backup keeps daily backups for 35 days and monthly ones for a year, in a retained vault.
    const vault = new BackupVault(this, "BackupVault", {
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const plan = BackupPlan.dailyMonthly1YearRetention(this, "BackupPlan", vault);
    const selection = plan.addSelection("Table", {
      resources: [BackupResource.fromDynamoDbTable(this.table)],
    });
    for (const policy of ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"]) {
      Validations.of(selection).acknowledge({
        id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}]`,
        reason: `AWS Backup's documented service-role policy (${policy}) for a backup selection; it is attached to the selection's own role only.`,
      });
    }
  }

  private get tableRef(): string {
    return nagRef(this.table.node.defaultChild as CfnTable, "Arn");
  }

  /** Read access to the table and its indexes: get and query only (work trays never scan). */
  grantRead(fn: ServiceFunction): void {
    this.table.grant(fn.fn, ...READ_ACTIONS);
    this.key.grant(fn.fn, ...KMS_READ);
    this.acknowledgeIndexes(fn);
  }

  /** Read and write access: items and transactions (TransactWriteItems is authorised per item action). */
  grantReadWrite(fn: ServiceFunction): void {
    this.table.grant(fn.fn, ...READ_ACTIONS, ...WRITE_ACTIONS);
    this.key.grant(fn.fn, ...KMS_READ_WRITE);
    this.acknowledgeIndexes(fn);
    acknowledgeKmsGrant(fn);
  }

  /**
   * Exactly these item operations, on the base table only (no index, no batch, no transaction):
   * for a function that reads and writes items by key in a few partitions it knows.
   */
  grantItems(fn: ServiceFunction, actions: readonly ItemAction[]): void {
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [this.table.tableArn],
      }),
    );
    const writes = actions.some((action) => !ITEM_READS.has(action));
    this.key.grant(fn.fn, ...(writes ? KMS_READ_WRITE : KMS_READ));
    if (writes) acknowledgeKmsGrant(fn);
  }

  /** Stream consumer: read the stream (the event source mapping needs it). */
  grantStreamRead(fn: ServiceFunction): void {
    this.table.grantStreamRead(fn.fn);
  }

  private acknowledgeIndexes(fn: ServiceFunction): void {
    fn.acknowledge(
      `AwsSolutions-IAM5[Resource::${this.tableRef}/index/*]`,
      "Work trays query the table's own global secondary indexes (gsi1..gsi6 from functions/store/table.ts); the wildcard is limited to indexes of this one table.",
    );
  }
}
