import { Duration } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { INDEXES } from "../functions/store/table.js";
import { DailyJobConstruct, type TenantsJobProps } from "./daily-job.js";

/**
 * The daily retention job (functions/retention/delete-expired.ts): an EventBridge Scheduler
 * schedule at 02:00 London time invokes the function, which deletes records past their retention
 * date through the retention index and leaves their tombstones. One run at a time.
 */
export class Retention extends DailyJobConstruct {
  constructor(scope: Construct, id: string, props: TenantsJobProps) {
    super(scope, id, {
      functions: props.functions,
      observability: props.observability,
      what: "retention job",
      functionId: "DeleteExpired",
      entry: "functions/retention/delete-expired.ts",
      description:
        "Daily: deletes challenges past their retention date (never held ones) and leaves tombstones",
      at: { hour: 2, minute: 0 },
      environment: { RETENTION_TENANT_IDS: props.tenantIds.join(",") },
      memorySize: 512,
      timeout: Duration.minutes(15),
    });

    // Exactly what retention-store.ts does: read and delete items of the base table, write the
    // tombstone, and query the retention index only (no other index, no scan).
    const table = props.store.table;
    this.job.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          "dynamodb:GetItem",
          "dynamodb:Query",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:BatchWriteItem",
        ],
        resources: [table.tableArn],
      }),
    );
    this.job.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: [`${table.tableArn}/index/${INDEXES.byRetentionDate.name}`],
      }),
    );
    props.store.key.grant(
      this.job.fn,
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
    );
  }
}
